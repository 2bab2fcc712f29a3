// The identifiers of a profile now, by key, a page at a time.
// params: $ns, $id, $after, $limit
MATCH (i:Identifier {ns: $ns, profile_id: $id})
WHERE i.key > $after
RETURN i.key AS key, i.type AS type, i.value AS value, i.profile_id AS profile_id,
       i.created_at AS created_at
ORDER BY key
LIMIT $limit
