// The live profile holding an identifier, as profile_views answers it: a lookup in one round
// trip. No row when no live profile holds it. Its profile is followed to the survivor when it
// is an alias: reads are read committed, so a merge that commits between reading the
// identifier and reading its profile leaves the identifier naming the absorbed profile
// (merged_into is flattened: one step reaches the live one).
// params: $ns, $key
MATCH (i:Identifier {ns: $ns, key: $key})
MATCH (held:Profile {ns: $ns, id: i.profile_id})
MATCH (p:Profile {ns: $ns, id: coalesce(held.merged_into, held.id)})
WHERE p.merged_into IS NULL
RETURN p.id AS id, p.recognized AS recognized, p.created_at AS created_at,
       p.updated_at AS updated_at, p.attributes AS attributes,
       COLLECT {
         MATCH (m:Identifier {ns: $ns, profile_id: p.id})
         WITH m ORDER BY m.created_at, m.key
         RETURN [m.type, m.value]
       } AS identifiers,
       COLLECT {
         MATCH (a:Profile {ns: $ns, merged_into: p.id})
         RETURN a.id ORDER BY a.id
       } AS aliases
