// Log refused links, numbered by the writer from its ids of the namespace
// (graph/store/neo4j/ids.py).
// params: $ns, $rows, $request_id, $at
UNWIND $rows AS row
CREATE (:Conflict {
  ns: $ns, id: row.id, created_at: $at, request_id: $request_id, item_index: row.item_index,
  rule: row.rule, profiles: row.profiles, types: [pair IN row.identifiers | pair[0]],
  values: [pair IN row.identifiers | pair[1]], keys: row.keys
})
