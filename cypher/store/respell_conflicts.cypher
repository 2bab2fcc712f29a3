// Refused links with re-keyed identifiers respelled.
// params: $ns, $rows
UNWIND $rows AS row
MATCH (c:Conflict {ns: $ns, id: row.id})
SET c.types = row.types, c.values = row.values, c.keys = row.keys
