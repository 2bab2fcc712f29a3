// A new API key, numbered from the store-wide api_key sequence (ns ''): a key's id finds it
// whatever its namespace. Only the hash of its secret is kept.
// params: $ns, $key_name, $rights, $salt, $hash, $at
MATCH (s:Sequence {ns: '', name: 'api_key'})
SET s._LOCK_ = true
WITH s, s.next AS id
SET s.next = id + 1
REMOVE s._LOCK_
CREATE (:ApiKey {id: id, ns: $ns, name: $key_name, rights: $rights, salt: $salt, hash: $hash,
                 created_at: $at, revoked_at: null})
RETURN id
