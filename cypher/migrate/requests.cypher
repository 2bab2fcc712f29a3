// Copy applied requests, kept for idempotent replay, with the profile ids and identifier
// keys their answer names (what a purge erases them by).
// params: $rows
UNWIND $rows AS row
MERGE (r:Request {ns: row.ns, request_id: row.request_id})
SET r.digest = row.digest, r.created_at = row.created_at, r.response = row.response,
    r.profiles = row.profiles, r.keys = row.keys
