// params: $ns, $request_id, $digest, $at, $response
CREATE (:Request {
  ns: $ns, request_id: $request_id, digest: $digest, created_at: $at, response: $response
})
