// Copy identifiers, each with MEMBER_OF to its profile (profile_id null: in none). A rerun
// replaces the membership rather than adding a second one.
// params: $rows
UNWIND $rows AS row
MERGE (i:Identifier {ns: row.ns, key: row.key})
SET i.type = row.type, i.value = row.value, i.profile_id = row.profile_id,
    i.created_at = row.created_at, i.request_id = row.request_id
WITH i, row
OPTIONAL MATCH (i)-[old:MEMBER_OF]->(:Profile)
DELETE old
WITH DISTINCT i, row
MATCH (p:Profile {ns: row.ns, id: row.profile_id})
CREATE (i)-[:MEMBER_OF]->(p)
