// Copy applied requests, kept for idempotent replay.
// params: $rows
UNWIND $rows AS row
MERGE (r:Request {ns: row.ns, request_id: row.request_id})
SET r.digest = row.digest, r.created_at = row.created_at, r.response = row.response
