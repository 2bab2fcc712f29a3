// With the profile ids and identifier keys its answer names, which a purge looks for.
// params: $ns, $request_id, $digest, $created_at, $response, $profiles, $keys
CREATE (:Request {
  ns: $ns, request_id: $request_id, digest: $digest, created_at: $created_at, response: $response,
  profiles: $profiles, keys: $keys
})
