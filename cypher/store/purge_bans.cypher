// Bans naming an erased identifier, as a or as b.
// params: $ns, $keys
MATCH (b:Ban {ns: $ns})
WHERE b.a_key IN $keys OR b.b_key IN $keys
DELETE b
