// Requests saved without the profile ids and identifier keys their answer names (by an
// idgraph before purges erased requests): a purge reads their answers and marks them.
// params: $ns
MATCH (r:Request {ns: $ns})
WHERE r.profiles IS NULL
RETURN r.request_id AS request_id, r.response AS response
