// Requests kept for replay whose answer names an erased profile or identifier. No index finds
// an element of a list, so this reads the requests of the namespace, never of every namespace:
// every request has a request_id, and `r.request_id IS NOT NULL` lets the planner seek the
// request_id constraint's index (ns, request_id) by namespace.
// params: $ns, $ids, $keys
MATCH (r:Request {ns: $ns})
WHERE r.request_id IS NOT NULL
  AND (any(id IN r.profiles WHERE id IN $ids) OR any(key IN r.keys WHERE key IN $keys))
DELETE r
