// The profiles the erased identifiers were ever in.
// params: $ns, $keys
UNWIND $keys AS gone
MATCH (p:Placement {ns: $ns, key: gone})
WHERE p.profile_id IS NOT NULL
RETURN DISTINCT p.profile_id AS profile_id
