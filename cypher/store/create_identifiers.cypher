// New identifiers, each in its profile (profile_id null: in none), from their creation on (the
// Placement time travel reads). CREATE, not MERGE: should another writer have created one
// since this one read it was new, the uniqueness constraint fails this transaction, which then
// runs again and finds it.
// params: $ns, $rows
UNWIND $rows AS row
CREATE (i:Identifier {
  ns: $ns, key: row.key, type: row.type, value: row.value, profile_id: row.profile_id,
  created_at: row.created_at, request_id: row.request_id
})
CREATE (:Placement {
  ns: $ns, key: row.key, at: row.created_at, profile_id: row.profile_id,
  request_id: row.request_id
})
WITH i, row
MATCH (p:Profile {ns: $ns, id: row.profile_id})
CREATE (i)-[:MEMBER_OF]->(p)
