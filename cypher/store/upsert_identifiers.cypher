// New identifiers, each in its profile (profile_id null: in none). One that left every profile
// (replaced) and comes back is found again: it has no MEMBER_OF, and gets one.
// params: $ns, $rows
UNWIND $rows AS row
MERGE (i:Identifier {ns: $ns, key: row.key})
ON CREATE SET i.type = row.type, i.value = row.value, i.created_at = row.created_at,
              i.request_id = row.request_id
SET i.profile_id = row.profile_id
WITH i, row
MATCH (p:Profile {ns: $ns, id: row.profile_id})
CREATE (i)-[:MEMBER_OF]->(p)
