// Copy links, active and ended, with their provenance and their ids.
// params: $rows
UNWIND $rows AS row
MATCH (a:Identifier {ns: row.ns, key: row.a_key})
MATCH (b:Identifier {ns: row.ns, key: row.b_key})
MERGE (a)-[l:LINKED {id: row.id}]->(b)
SET l.operation = row.operation, l.source = row.source, l.request_id = row.request_id,
    l.item_index = row.item_index, l.merge_id = row.merge_id, l.created_at = row.created_at,
    l.ended_at = row.ended_at, l.end_reason = row.end_reason,
    l.ended_request_id = row.ended_request_id
