// params: $ns, $rows
UNWIND $rows AS row
CREATE (:Profile {
  ns: $ns, id: row.id, created_at: row.created_at, updated_at: row.updated_at,
  recognized: row.recognized, parent_id: row.parent_id, request_id: row.request_id
})
