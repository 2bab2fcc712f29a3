// Profiles merged into one of $ids, which answer for it.
// params: $ns, $ids
UNWIND $ids AS wanted
MATCH (p:Profile {ns: $ns, merged_into: wanted})
RETURN p.id AS id, p.merged_into AS merged_into
ORDER BY id
