// Record merges: MERGED_INTO from the absorbed profile to the one that absorbed it, and the
// absorbed profile becomes an alias of the live survivor ($rows carry it as row.live).
// params: $ns, $rows, $at, $request_id
UNWIND $rows AS row
MATCH (absorbed:Profile {ns: $ns, id: row.absorbed})
MATCH (survivor:Profile {ns: $ns, id: row.survivor})
CREATE (absorbed)-[:MERGED_INTO {
  id: row.id, ns: $ns, request_id: $request_id, item_index: row.item_index, created_at: $at
}]->(survivor)
SET absorbed.merged_into = row.live, absorbed.updated_at = $at
