// The profile ids and identifier keys each request's answer names.
// params: $ns, $rows
UNWIND $rows AS row
MATCH (r:Request {ns: $ns, request_id: row.request_id})
SET r.profiles = row.profiles, r.keys = row.keys
