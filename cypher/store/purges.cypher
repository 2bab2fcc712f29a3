// The audit log of purges, oldest first, a page at a time.
// params: $ns, $after, $limit
MATCH (p:Purge {ns: $ns})
WHERE p.id > $after
RETURN p.id AS id, p.ns AS namespace, p.profile_id AS profile_id, p.purged_at AS purged_at,
       p.purged_by AS purged_by, p.identifiers AS identifiers_erased
ORDER BY id
LIMIT $limit
