// A namespace's identifiers in key order, a page at a time (exports, checks).
// params: $ns, $after, $limit
MATCH (i:Identifier {ns: $ns})
WHERE i.key > $after
RETURN i.key AS key, i.type AS type, i.value AS value, i.profile_id AS profile_id
ORDER BY key
LIMIT $limit
