// Merge chains: which profiles were absorbed by a profile that was itself absorbed later, and
// so on, at least $min_hops times? A -> B -> C -> D reads: A merged into B, later B into C,
// then C into D. Long chains show identity arriving in small pieces that keep joining bigger
// ones; each hop relabeled the smaller side, and each is a step an undo would walk back.
// One row per chain, longest first, from a profile that absorbed none to the live survivor:
// `chain` the profile ids in merge order, `hops` the number of merges, `merge_ids`,
// `merged_at` and `request_ids` those of each hop. Only whole chains are listed (B -> C -> D
// is part of the row of A), so a chain shorter than $min_hops inside a longer one is not a
// row of its own. Undone merges (undone_at set) do not count. Chains are followed for 32
// hops; a longer chain shows its first 32 (`chain` does not end at a live profile then).
// Cypher takes no parameter as a path length, hence the fixed bound and the filter on length.
// Starts from aliases: the profile_merged_into index (ns, merged_into).
// params: $ns, $min_hops
MATCH (first:Profile)
WHERE first.ns = $ns AND first.merged_into IS NOT NULL
  AND NOT EXISTS {
    (:Profile)-[earlier:MERGED_INTO]->(first) WHERE earlier.undone_at IS NULL
  }
MATCH path = (first)-[:MERGED_INTO*1..32]->(last:Profile)
WHERE length(path) >= $min_hops
  AND all(hop IN relationships(path) WHERE hop.undone_at IS NULL)
  AND (length(path) = 32 OR NOT EXISTS {
    (last)-[later:MERGED_INTO]->(:Profile) WHERE later.undone_at IS NULL
  })
RETURN [p IN nodes(path) | p.id] AS chain, length(path) AS hops,
       [hop IN relationships(path) | hop.id] AS merge_ids,
       [hop IN relationships(path) | hop.created_at] AS merged_at,
       [hop IN relationships(path) | hop.request_id] AS request_ids
ORDER BY hops DESC, chain[0]
