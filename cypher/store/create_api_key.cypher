// A new API key, numbered from the api_key sequence. Only the hash of its secret is kept.
// params: $ns, $key_name, $rights, $salt, $hash, $at
MATCH (s:Sequence {name: 'api_key'})
WITH s, s.next AS id
SET s.next = id + 1
CREATE (:ApiKey {id: id, ns: $ns, name: $key_name, rights: $rights, salt: $salt, hash: $hash,
                 created_at: $at, revoked_at: null})
RETURN id
