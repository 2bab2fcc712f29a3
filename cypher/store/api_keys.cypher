// Every API key of one namespace by id, revoked ones too.
// params: $ns
MATCH (k:ApiKey {ns: $ns})
RETURN k.id AS id, k.ns AS ns, k.name AS name, k.rights AS rights, k.salt AS salt,
       k.hash AS hash, k.created_at AS created_at, k.revoked_at AS revoked_at
ORDER BY id
