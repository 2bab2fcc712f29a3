// Copy merges, undone ones too: MERGED_INTO from the absorbed profile to the one that
// absorbed it at the time, with an identifier of each side it joined.
// params: $rows
UNWIND $rows AS row
MATCH (absorbed:Profile {ns: row.ns, id: row.absorbed})
MATCH (survivor:Profile {ns: row.ns, id: row.survivor})
MERGE (absorbed)-[m:MERGED_INTO {id: row.id}]->(survivor)
SET m.ns = row.ns, m.request_id = row.request_id, m.item_index = row.item_index,
    m.created_at = row.created_at, m.survivor_key = row.survivor_key,
    m.absorbed_key = row.absorbed_key, m.undone_at = row.undone_at,
    m.undone_request_id = row.undone_request_id
