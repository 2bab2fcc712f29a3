// Add a purge to the audit log, numbered from the purge sequence: never what was erased.
// params: $ns, $profile_id, $at, $purged_by, $identifiers
MATCH (s:Sequence {name: 'purge'})
WITH s, s.next AS id
SET s.next = id + 1
CREATE (:Purge {
  id: id, ns: $ns, profile_id: $profile_id, purged_at: $at, purged_by: $purged_by,
  identifiers: $identifiers
})
RETURN id
