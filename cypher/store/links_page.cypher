// A namespace's links in id order, a page at a time (exports, checks).
// params: $ns, $after, $limit, $active_only
MATCH (a:Identifier)-[l:LINKED]->(b:Identifier)
WHERE l.id > $after AND a.ns = $ns AND (NOT $active_only OR l.ended_at IS NULL)
RETURN l.id AS id, a.key AS a_key, b.key AS b_key, l.operation AS operation,
       l.source AS source, l.request_id AS request_id, l.item_index AS item_index,
       l.merge_id AS merge_id, l.created_at AS created_at, l.ended_at AS ended_at,
       l.end_reason AS end_reason, l.ended_request_id AS ended_request_id
ORDER BY id
LIMIT $limit
