// The profile each of $keys was in at the instant $at (its latest placement at or before
// it; profile_id null: in none). An identifier not created by then has no row.
// params: $ns, $keys, $at
UNWIND $keys AS wanted
MATCH (placed:Placement {ns: $ns, key: wanted})
WHERE placed.at <= $at
WITH wanted, placed
ORDER BY placed.at DESC
WITH wanted, collect(placed)[0] AS latest
RETURN wanted AS key, latest.profile_id AS profile_id
