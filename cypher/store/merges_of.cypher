// Every merge, undone or not, whose survivor or absorbed profile is one of $ids, by id.
// MERGED_INTO runs from the absorbed profile to its survivor.
// params: $ns, $ids
UNWIND $ids AS wanted
MATCH (:Profile {ns: $ns, id: wanted})-[m:MERGED_INTO]-(:Profile)
WITH DISTINCT m
RETURN m.id AS id, endNode(m).id AS survivor, startNode(m).id AS absorbed,
       m.request_id AS request_id, m.item_index AS item_index, m.created_at AS created_at,
       m.survivor_key AS survivor_key, m.absorbed_key AS absorbed_key,
       m.undone_at AS undone_at, m.undone_request_id AS undone_request_id
ORDER BY id
