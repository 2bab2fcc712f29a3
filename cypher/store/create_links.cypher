// params: $ns, $rows
UNWIND $rows AS row
MATCH (a:Identifier {ns: $ns, key: row.a_key})
MATCH (b:Identifier {ns: $ns, key: row.b_key})
CREATE (a)-[:LINKED {
  id: row.id, operation: row.operation, source: row.source, request_id: row.request_id,
  item_index: row.item_index, merge_id: row.merge_id, created_at: row.created_at,
  ended_at: row.ended_at, end_reason: row.end_reason, ended_request_id: row.ended_request_id
}]->(b)
