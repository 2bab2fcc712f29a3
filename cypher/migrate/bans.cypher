// Copy do-not-link rules with their ids.
// params: $rows
UNWIND $rows AS row
MERGE (b:Ban {ns: row.ns, id: row.id})
SET b.a_key = row.a_key, b.b_key = row.b_key, b.b_type = row.b_type, b.reason = row.reason,
    b.created_by = row.created_by, b.created_at = row.created_at,
    b.request_id = row.request_id, b.link_id = row.link_id
