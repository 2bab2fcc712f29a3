// Refused links, oldest first.
// params: $ns, $after, $since, $limit
MATCH (c:Conflict {ns: $ns})
WHERE c.id > $after AND c.created_at >= $since
RETURN c.id AS id, c.created_at AS created_at, c.request_id AS request_id,
       c.item_index AS item_index, c.rule AS rule, c.profiles AS profiles,
       c.types AS types, c.values AS values
ORDER BY id
LIMIT $limit
