// The profile holding an identifier (null when it is in none).
// params: $ns, $key
MATCH (i:Identifier {ns: $ns, key: $key})
RETURN i.profile_id AS profile_id
