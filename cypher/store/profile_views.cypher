// The live profiles (not merged into another) among $ids, by id, each with its identifiers
// (oldest first) and the ids of the profiles merged into it: what a lookup answers, in one
// round trip.
// params: $ns, $ids
UNWIND $ids AS wanted
MATCH (p:Profile {ns: $ns, id: wanted})
WHERE p.merged_into IS NULL
RETURN p.id AS id, p.recognized AS recognized, p.created_at AS created_at,
       p.updated_at AS updated_at, p.attributes AS attributes,
       COLLECT {
         MATCH (i:Identifier {ns: $ns, profile_id: p.id})
         WITH i ORDER BY i.created_at, i.key
         RETURN [i.type, i.value]
       } AS identifiers,
       COLLECT {
         MATCH (a:Profile {ns: $ns, merged_into: p.id})
         RETURN a.id ORDER BY a.id
       } AS aliases
ORDER BY id
