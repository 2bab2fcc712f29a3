// Log refused links, numbered from the conflict sequence.
// params: $ns, $rows, $request_id, $at
MATCH (s:Sequence {name: 'conflict'})
WITH s, s.next AS first
SET s.next = first + size($rows)
WITH first
UNWIND range(0, size($rows) - 1) AS offset
WITH first + offset AS id, $rows[offset] AS row
CREATE (:Conflict {
  ns: $ns, id: id, created_at: $at, request_id: $request_id, item_index: row.item_index,
  rule: row.rule, profiles: row.profiles, types: [pair IN row.identifiers | pair[0]],
  values: [pair IN row.identifiers | pair[1]], keys: row.keys
})
