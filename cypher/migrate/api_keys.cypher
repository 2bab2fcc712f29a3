// Copy API keys with their ids: the hash of each secret, never a secret.
// params: $rows
UNWIND $rows AS row
MERGE (k:ApiKey {id: row.id})
SET k.ns = row.ns, k.name = row.name, k.rights = row.rights, k.salt = row.salt,
    k.hash = row.hash, k.created_at = row.created_at, k.revoked_at = row.revoked_at
