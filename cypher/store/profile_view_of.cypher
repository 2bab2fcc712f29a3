// The live profile holding an identifier, as profile_views answers it: a lookup in one round
// trip. No row when no live profile holds it.
// params: $ns, $key
MATCH (i:Identifier {ns: $ns, key: $key})
MATCH (p:Profile {ns: $ns, id: i.profile_id})
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
