// Taken first by every write transaction: writers take turns, as on SQLite, so the planner's
// view of the profiles it touches and of the id sequences stays true until commit.
// (A write, not a read: Neo4j locks the node until commit; ArcadeDB's optimistic
// transactions fail the later of two writers, and the driver retries it.)
MATCH (l:WriteLock {name: 'write'})
SET l.writes = l.writes + 1
