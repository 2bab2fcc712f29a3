// A writer's lock on profiles, taken in the order of $ids and held until it commits: no other
// writer changes their members, links or attributes meanwhile. Answers, once they are held,
// the profiles holding $keys (those of a batch) and whether each is live: another writer may
// have moved a key, or merged a profile, between the writer's read and its lock.
// params: $ns, $ids, $keys
CALL () {
  UNWIND $ids AS wanted
  MATCH (p:Profile {ns: $ns, id: wanted})
  SET p._LOCK_ = true
  REMOVE p._LOCK_
  RETURN count(p) AS locked
}
CALL () {
  UNWIND $ids AS wanted
  MATCH (p:Profile {ns: $ns, id: wanted})
  RETURN collect(CASE WHEN p.merged_into IS NULL THEN p.id END) AS live
}
CALL () {
  UNWIND $keys AS wanted
  MATCH (i:Identifier {ns: $ns, key: wanted})
  WHERE i.profile_id IS NOT NULL
  RETURN collect(DISTINCT i.profile_id) AS holding
}
RETURN live, holding
