// Requests kept for replay whose answer names any of these identifier keys (see
// purge_requests.cypher for why request_id IS NOT NULL).
// params: $ns, $keys
MATCH (r:Request {ns: $ns})
WHERE r.request_id IS NOT NULL AND any(key IN r.keys WHERE key IN $keys)
RETURN r.request_id AS request_id, r.response AS response
