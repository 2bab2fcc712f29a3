// A namespace's bans by id, a page at a time.
// params: $ns, $after, $limit
MATCH (b:Ban {ns: $ns})
WHERE b.id > $after
RETURN b.id AS id, b.a_key AS a_key, b.b_key AS b_key, b.b_type AS b_type,
       b.reason AS reason, b.created_by AS created_by, b.created_at AS created_at,
       b.link_id AS link_id
ORDER BY id
LIMIT $limit
