// params: $ns, $keys
MATCH (c:Conflict {ns: $ns})
WHERE any(key IN c.keys WHERE key IN $keys)
DELETE c
