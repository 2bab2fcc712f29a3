// The profiles an identifier has been in under either of two keys, from their placements:
// those whose merges may name it.
// params: $ns, $keys
UNWIND $keys AS key
MATCH (p:Placement {ns: $ns, key: key})
WHERE p.profile_id IS NOT NULL
RETURN collect(DISTINCT p.profile_id) AS profiles
