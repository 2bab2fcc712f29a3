// Mark merges undone; the record stays, with when and by which request.
// params: $ns, $rows, $at, $request_id
UNWIND $rows AS row
MATCH (:Profile)-[m:MERGED_INTO {ns: $ns, id: row.id}]->(:Profile)
SET m.undone_at = $at, m.undone_request_id = $request_id
