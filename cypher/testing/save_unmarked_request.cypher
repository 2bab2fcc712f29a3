// Tests only: a request as an idgraph before purges erased requests saved it, without the
// profile ids and identifier keys its answer names.
// params: $ns, $request_id, $response
CREATE (:Request {
  ns: $ns, request_id: $request_id, digest: 'digest', created_at: '2026-01-01T00:00:00.000000Z',
  response: $response
})
