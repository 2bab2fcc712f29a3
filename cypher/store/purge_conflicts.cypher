// Refused links naming an erased identifier or an erased profile.
// params: $ns, $keys, $ids
MATCH (c:Conflict {ns: $ns})
WHERE any(key IN c.keys WHERE key IN $keys) OR any(id IN c.profiles WHERE id IN $ids)
DELETE c
