// Record merges: MERGED_INTO from the absorbed profile to the one that absorbed it, with an
// identifier of each side it joined, and the absorbed profile becomes an alias of the live
// survivor ($rows carry it as row.live).
// params: $ns, $rows, $at, $request_id
UNWIND $rows AS row
MATCH (absorbed:Profile {ns: $ns, id: row.absorbed})
MATCH (survivor:Profile {ns: $ns, id: row.survivor})
CREATE (absorbed)-[:MERGED_INTO {
  id: row.id, ns: $ns, request_id: $request_id, item_index: row.item_index, created_at: $at,
  survivor_key: row.survivor_key, absorbed_key: row.absorbed_key
}]->(survivor)
SET absorbed.merged_into = row.live, absorbed.updated_at = $at
