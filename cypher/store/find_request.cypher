// An applied request, kept for idempotent replay.
// params: $ns, $request_id
MATCH (r:Request {ns: $ns, request_id: $request_id})
RETURN r.digest AS digest, r.response AS response
