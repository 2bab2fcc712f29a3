// Refusals kept before they named their profiles by relationship (a store written by an
// earlier idgraph), a batch at a time: each gets a NAMES relationship to each profile it names
// that is still there. Run until it returns 0; conflicts that name no profile left (all
// purged) are marked as done too, so the loop ends.
// params: $limit
MATCH (c:Conflict)
WHERE c.id IS NOT NULL AND NOT EXISTS { (c)-[:NAMES]->() } AND c.named IS NULL
WITH c LIMIT $limit
CALL (c) {
  UNWIND c.profiles AS profile_id
  MATCH (p:Profile {ns: c.ns, id: profile_id})
  MERGE (c)-[:NAMES]->(p)
}
SET c.named = true
RETURN count(c) AS named
