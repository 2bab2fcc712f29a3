// The live profiles (not merged into another) among $ids, by id.
// params: $ns, $ids
UNWIND $ids AS wanted
MATCH (p:Profile {ns: $ns, id: wanted})
WHERE p.merged_into IS NULL
RETURN p.id AS id, p.recognized AS recognized, p.created_at AS created_at,
       p.updated_at AS updated_at, p.attributes AS attributes
ORDER BY id
