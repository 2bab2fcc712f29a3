// Every ban naming one of $keys (as a or as b), by id: what the planner must respect. A
// namespace with no ban at all (most) answers at the first row it does not find.
// params: $ns, $keys
MATCH (some:Ban {ns: $ns})
WHERE some.a_key IS NOT NULL
WITH some LIMIT 1
OPTIONAL MATCH (a:Ban {ns: $ns})
WHERE a.a_key IN $keys
WITH collect(a) AS by_a
OPTIONAL MATCH (b:Ban {ns: $ns})
WHERE b.b_key IN $keys
WITH by_a, collect(b) AS by_b
UNWIND by_a + by_b AS ban
WITH DISTINCT ban
RETURN ban.id AS id, ban.a_key AS a_key, ban.b_key AS b_key, ban.b_type AS b_type,
       ban.reason AS reason, ban.created_by AS created_by, ban.created_at AS created_at,
       ban.link_id AS link_id
ORDER BY id
