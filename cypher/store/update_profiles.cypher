// params: $ns, $rows
UNWIND $rows AS row
MATCH (p:Profile {ns: $ns, id: row.id})
SET p.updated_at = row.updated_at, p.recognized = row.recognized
