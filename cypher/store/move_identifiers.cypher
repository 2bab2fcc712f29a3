// Move identifiers to another profile (profile_id null: to none), keeping MEMBER_OF and
// profile_id in agreement.
// params: $ns, $rows
UNWIND $rows AS row
MATCH (i:Identifier {ns: $ns, key: row.key})
SET i.profile_id = row.profile_id
WITH i, row
OPTIONAL MATCH (i)-[old:MEMBER_OF]->(:Profile)
DELETE old
WITH DISTINCT i, row
MATCH (p:Profile {ns: $ns, id: row.profile_id})
CREATE (i)-[:MEMBER_OF]->(p)
