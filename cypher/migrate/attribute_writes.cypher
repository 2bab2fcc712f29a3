// Copy the history of attribute writes. position is SQLite's id: it keeps their order, and
// with the profile and the time it finds a write copied before (a rerun adds none).
// params: $rows
UNWIND $rows AS row
MERGE (w:AttributeWrite {
  ns: row.ns, profile_id: row.profile_id, written_at: row.written_at, position: row.position
})
SET w.via_key = row.via_key, w.name = row.name, w.value = row.value,
    w.operation = row.operation, w.source = row.source, w.request_id = row.request_id
