// Bans naming an erased identifier, as a or as b: each found once, then deleted (as
// purge_attribute_writes.cypher: two seeks may find the same ban).
// params: $ns, $keys
MATCH (b:Ban {ns: $ns})
WHERE b.a_key IN $keys OR b.b_key IN $keys
WITH collect(DISTINCT b) AS erased
UNWIND erased AS b
DELETE b
