// Identifiers that had left every profile (replaced, retired) and come back, each to its
// profile (null: still in none). The writer holds their locks (lock_identifiers.cypher).
// params: $ns, $rows
UNWIND $rows AS row
MATCH (i:Identifier {ns: $ns, key: row.key})
SET i.profile_id = row.profile_id
WITH i, row
MATCH (p:Profile {ns: $ns, id: row.profile_id})
CREATE (i)-[:MEMBER_OF]->(p)
