// Tests only: every property of every node and relationship, whatever its label or type, whose
// value holds one of $needles, compared in lower case: each element of a list, and JSON text
// (attributes, a kept answer) as the text it is. What a purge must leave no query to find.
// params: $needles
CALL () {
  MATCH (n)
  UNWIND keys(n) AS key
  RETURN labels(n) AS kind, key, n[key] AS value
  UNION ALL
  MATCH ()-[r]->()
  UNWIND keys(r) AS key
  RETURN [type(r)] AS kind, key, r[key] AS value
}
UNWIND CASE WHEN value IS :: LIST<ANY> THEN value ELSE [value] END AS item
WITH kind, key, toLower(toString(item)) AS text
WHERE any(needle IN $needles WHERE text CONTAINS toLower(needle))
RETURN kind, key, text
