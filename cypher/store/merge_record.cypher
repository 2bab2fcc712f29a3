// One merge, undone or not.
// params: $ns, $id
MATCH (absorbed:Profile)-[m:MERGED_INTO {ns: $ns, id: $id}]->(survivor:Profile)
RETURN m.id AS id, survivor.id AS survivor, absorbed.id AS absorbed,
       m.request_id AS request_id, m.item_index AS item_index, m.created_at AS created_at,
       m.survivor_key AS survivor_key, m.absorbed_key AS absorbed_key,
       m.undone_at AS undone_at, m.undone_request_id AS undone_request_id
