// The bans naming one identifier (as a or as b), by id, a page at a time.
// params: $ns, $key, $after, $limit
OPTIONAL MATCH (a:Ban {ns: $ns, a_key: $key})
WITH collect(a) AS by_a
OPTIONAL MATCH (b:Ban {ns: $ns, b_key: $key})
WITH by_a, collect(b) AS by_b
UNWIND by_a + by_b AS ban
WITH DISTINCT ban
WHERE ban.id > $after
RETURN ban.id AS id, ban.a_key AS a_key, ban.b_key AS b_key, ban.b_type AS b_type,
       ban.reason AS reason, ban.created_by AS created_by, ban.created_at AS created_at,
       ban.link_id AS link_id
ORDER BY id
LIMIT $limit
