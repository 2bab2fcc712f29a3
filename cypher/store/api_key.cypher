// One API key by id, revoked or not.
// params: $id
MATCH (k:ApiKey {id: $id})
RETURN k.id AS id, k.ns AS ns, k.name AS name, k.rights AS rights, k.salt AS salt,
       k.hash AS hash, k.created_at AS created_at, k.revoked_at AS revoked_at
