// Refused links naming an erased identifier or an erased profile. No index finds an element of
// a list, so this reads the conflicts of the namespace, never of every namespace: every
// conflict has an id, and `c.id IS NOT NULL` lets the planner seek the conflict_id index
// (ns, id) by namespace.
// params: $ns, $keys, $ids
MATCH (c:Conflict {ns: $ns})
WHERE c.id IS NOT NULL
  AND (any(key IN c.keys WHERE key IN $keys) OR any(id IN c.profiles WHERE id IN $ids))
DETACH DELETE c
