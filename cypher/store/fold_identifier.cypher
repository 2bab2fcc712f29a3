// Re-keying into an existing identifier: it keeps the earlier creation, takes the old one's
// links with their properties, and the old one goes (with its MEMBER_OF). Its profile_id is
// cleared first: deleted after a merge of this transaction moved it, it was still found by
// the (ns, profile_id) index, and the next statement loading that profile failed on it
// (EntityNotFound, Neo4j 5.26).
// params: $ns, $old, $new
MATCH (o:Identifier {ns: $ns, key: $old})
MATCH (n:Identifier {ns: $ns, key: $new})
WITH o, n, o.created_at < n.created_at AS older
SET n.created_at = CASE WHEN older THEN o.created_at ELSE n.created_at END,
    n.request_id = CASE WHEN older THEN o.request_id ELSE n.request_id END
WITH o, n
CALL (o, n) {
  MATCH (o)-[l:LINKED]->(x)
  CREATE (n)-[moved:LINKED]->(x)
  SET moved = properties(l)
  DELETE l
}
CALL (o, n) {
  MATCH (x)-[l:LINKED]->(o)
  CREATE (x)-[moved:LINKED]->(n)
  SET moved = properties(l)
  DELETE l
}
SET o.profile_id = null
WITH o
DETACH DELETE o
