// Requests saved without the profile ids and identifier keys their answer names (by an
// idgraph before purges erased requests): a purge reads their answers and marks them.
// No index finds a missing property, so this reads the requests of the namespace, never of
// every namespace: `r.request_id IS NOT NULL` (true of every request) lets the planner seek
// the request_id constraint's index (ns, request_id) by namespace.
// params: $ns
MATCH (r:Request {ns: $ns})
WHERE r.request_id IS NOT NULL AND r.profiles IS NULL
RETURN r.request_id AS request_id, r.response AS response
