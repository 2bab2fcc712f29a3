// Refused links naming one of these profile ids, oldest first: found from the profiles by
// their NAMES relationships, never by reading the namespace's refusals.
// params: $ns, $after, $since, $limit, $profiles
MATCH (p:Profile {ns: $ns})
WHERE p.id IN $profiles
MATCH (c:Conflict)-[:NAMES]->(p)
WHERE c.id > $after AND c.created_at >= $since
WITH DISTINCT c
RETURN c.id AS id, c.created_at AS created_at, c.request_id AS request_id,
       c.item_index AS item_index, c.rule AS rule, c.profiles AS profiles,
       c.types AS types, c.values AS values
ORDER BY id
LIMIT $limit
