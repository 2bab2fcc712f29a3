// Refused links, oldest first; with $profiles (not null), those naming one of these profile
// ids. No index finds an element of a list: that filter reads the namespace's conflicts above
// $after, as the page does without it.
// params: $ns, $after, $since, $limit, $profiles
MATCH (c:Conflict {ns: $ns})
WHERE c.id > $after AND c.created_at >= $since
  AND ($profiles IS NULL OR any(pid IN c.profiles WHERE pid IN $profiles))
RETURN c.id AS id, c.created_at AS created_at, c.request_id AS request_id,
       c.item_index AS item_index, c.rule AS rule, c.profiles AS profiles,
       c.types AS types, c.values AS values
ORDER BY id
LIMIT $limit
