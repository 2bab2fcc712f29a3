// A writer's lock on profiles, taken in the order of $ids and held until it commits: no other
// writer changes their members, links or attributes meanwhile. Answers each profile's id and
// whether it is still live (not merged into another since it was read).
// params: $ns, $ids
UNWIND $ids AS wanted
MATCH (p:Profile {ns: $ns, id: wanted})
SET p._LOCK_ = true
REMOVE p._LOCK_
RETURN p.id AS id, p.merged_into IS NULL AS live
