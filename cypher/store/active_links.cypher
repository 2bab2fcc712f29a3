// The active links of the profiles $ids (both ends of an active link are in one profile).
// params: $ns, $ids
UNWIND $ids AS wanted
MATCH (a:Identifier {ns: $ns, profile_id: wanted})-[l:LINKED]->(b:Identifier)
WHERE l.ended_at IS NULL
RETURN l.id AS id, a.key AS a, b.key AS b
