// These identifiers, in a profile or in none, by key.
// params: $ns, $keys
UNWIND $keys AS wanted
MATCH (i:Identifier {ns: $ns, key: wanted})
RETURN DISTINCT i.key AS key, i.type AS type, i.value AS value, i.profile_id AS profile_id,
       i.created_at AS created_at
ORDER BY key
