// End active links; an ended link stays, with when, why and by which request.
// params: $ns, $rows, $at, $request_id
UNWIND $rows AS row
MATCH (:Identifier {ns: $ns})-[l:LINKED {id: row.id}]->(:Identifier)
WHERE l.ended_at IS NULL
SET l.ended_at = $at, l.end_reason = row.end_reason, l.ended_request_id = $request_id
