// Requests kept for replay, with the re-keyed keys their answers name respelled.
// params: $ns, $rows
UNWIND $rows AS row
MATCH (r:Request {ns: $ns, request_id: row.request_id})
SET r.response = row.response, r.keys = row.keys
