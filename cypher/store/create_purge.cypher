// Add a purge to the audit log, numbered from the namespace's purge sequence (locked until
// commit: purges of a namespace take turns): never what was erased.
// params: $ns, $profile_id, $at, $purged_by, $identifiers
OPTIONAL MATCH (floor:Sequence {ns: '', name: 'purge'})
MERGE (s:Sequence {ns: $ns, name: 'purge'})
ON CREATE SET s.next = coalesce(floor.next, 1)
SET s._LOCK_ = true
WITH s, s.next AS id
SET s.next = id + 1
REMOVE s._LOCK_
CREATE (:Purge {
  id: id, ns: $ns, profile_id: $profile_id, purged_at: $at, purged_by: $purged_by,
  identifiers: $identifiers
})
RETURN id
