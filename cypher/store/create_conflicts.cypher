// Log refused links, numbered by the writer from its ids of the namespace
// (graph/store/neo4j/ids.py), each NAMES the profiles it names (made before it, in the order
// of a change set's writes).
// params: $ns, $rows, $request_id, $at
UNWIND $rows AS row
CREATE (c:Conflict {
  ns: $ns, id: row.id, created_at: $at, request_id: $request_id, item_index: row.item_index,
  rule: row.rule, profiles: row.profiles, types: [pair IN row.identifiers | pair[0]],
  values: [pair IN row.identifiers | pair[1]], keys: row.keys
})
WITH c, row
UNWIND row.profiles AS profile_id
MATCH (p:Profile {ns: $ns, id: profile_id})
MERGE (c)-[:NAMES]->(p)
