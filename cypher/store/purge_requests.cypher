// Requests kept for replay whose answer names an erased profile or identifier.
// params: $ns, $ids, $keys
MATCH (r:Request {ns: $ns})
WHERE any(id IN r.profiles WHERE id IN $ids) OR any(key IN r.keys WHERE key IN $keys)
DELETE r
