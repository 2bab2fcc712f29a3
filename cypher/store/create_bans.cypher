// Do-not-link rules, numbered by the planner from the ban sequence.
// params: $ns, $rows, $request_id
UNWIND $rows AS row
CREATE (:Ban {
  ns: $ns, id: row.id, a_key: row.a_key, b_key: row.b_key, b_type: row.b_type,
  reason: row.reason, created_by: row.created_by, created_at: row.created_at,
  request_id: $request_id, link_id: row.link_id
})
