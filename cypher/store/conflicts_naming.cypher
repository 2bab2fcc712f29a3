// Refused links naming any of these identifier keys. No index finds an element of a list:
// this reads the conflicts of the namespace.
// params: $ns, $keys
MATCH (c:Conflict {ns: $ns})
WHERE c.id IS NOT NULL AND any(key IN c.keys WHERE key IN $keys)
RETURN c.id AS id, c.types AS types, c.values AS values
