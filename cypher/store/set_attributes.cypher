// Replace the attributes of profiles: JSON {name: {value, via, request_id, at}}.
// params: $ns, $rows
UNWIND $rows AS row
MATCH (p:Profile {ns: $ns, id: row.id})
SET p.attributes = row.attributes
