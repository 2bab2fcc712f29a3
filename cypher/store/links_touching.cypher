// Every link, active or ended, with an end in $keys, by id.
// params: $ns, $keys
UNWIND $keys AS wanted
MATCH (:Identifier {ns: $ns, key: wanted})-[l:LINKED]-(:Identifier)
WITH DISTINCT l
RETURN l.id AS id, startNode(l).key AS a_key, endNode(l).key AS b_key,
       l.operation AS operation, l.source AS source, l.request_id AS request_id,
       l.item_index AS item_index, l.merge_id AS merge_id, l.created_at AS created_at,
       l.ended_at AS ended_at, l.end_reason AS end_reason,
       l.ended_request_id AS ended_request_id
ORDER BY id
