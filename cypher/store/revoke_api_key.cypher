// Revoke an API key for good; revoking it again changes nothing.
// params: $id, $at
OPTIONAL MATCH (k:ApiKey {id: $id})
WHERE k.revoked_at IS NULL
SET k.revoked_at = $at
RETURN count(k) AS revoked
