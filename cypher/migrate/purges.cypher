// Copy the audit log of purges with its ids: who erased which profile when, never what.
// params: $rows
UNWIND $rows AS row
MERGE (p:Purge {ns: row.ns, id: row.id})
SET p.profile_id = row.profile_id, p.purged_at = row.purged_at,
    p.purged_by = row.purged_by, p.identifiers = row.identifiers
