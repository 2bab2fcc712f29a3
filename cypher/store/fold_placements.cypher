// Re-keying into an existing identifier: the old key's placements from before the new key's
// first (where the identifier was before it had today's spelling) become the new key's; the
// others go.
// params: $ns, $old, $new
MATCH (first:Placement {ns: $ns, key: $new})
WITH min(first.at) AS since
MATCH (p:Placement {ns: $ns, key: $old})
WITH p, p.at < since AS kept
SET p.key = CASE WHEN kept THEN $new ELSE p.key END
WITH p, kept
WHERE NOT kept
DELETE p
