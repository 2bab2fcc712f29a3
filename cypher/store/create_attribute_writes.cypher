// The history of attribute writes, each with the identifier it came through.
// params: $ns, $rows, $operation, $source, $request_id, $at
UNWIND $rows AS row
CREATE (:AttributeWrite {
  ns: $ns, profile_id: row.profile_id, via_key: row.via_key, name: row.name,
  value: row.value, operation: $operation, source: $source, request_id: $request_id,
  written_at: $at, position: row.position
})
