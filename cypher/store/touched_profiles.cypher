// The profiles holding any of $keys.
// params: $ns, $keys
UNWIND $keys AS wanted
MATCH (i:Identifier {ns: $ns, key: wanted})
WHERE i.profile_id IS NOT NULL
RETURN DISTINCT i.profile_id AS profile_id
