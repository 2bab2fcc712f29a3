// The merges, undone or not, of profiles $ids, as survivor or as absorbed.
// MERGED_INTO runs from the absorbed profile to its survivor.
// params: $ns, $ids
UNWIND $ids AS wanted
MATCH (:Profile {ns: $ns, id: wanted})-[m:MERGED_INTO]-(:Profile)
WITH DISTINCT m
RETURN endNode(m).id AS survivor, startNode(m).id AS absorbed
