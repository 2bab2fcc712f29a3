// New identifiers; one that left every profile (replaced) and comes back is found again.
// Their profile is set by move_identifiers.
// params: $ns, $rows
UNWIND $rows AS row
MERGE (i:Identifier {ns: $ns, key: row.key})
ON CREATE SET i.type = row.type, i.value = row.value, i.created_at = row.created_at,
              i.request_id = row.request_id
