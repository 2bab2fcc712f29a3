// Every API key of every namespace by id, revoked ones too (`idgraph keys list`).
MATCH (k:ApiKey)
RETURN k.id AS id, k.ns AS ns, k.name AS name, k.rights AS rights, k.salt AS salt,
       k.hash AS hash, k.created_at AS created_at, k.revoked_at AS revoked_at
ORDER BY id
