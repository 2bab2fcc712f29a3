// Record that a migration from $source has begun: one checkpoint per table, nothing copied
// yet (after is null). A rerun finds them and resumes after each table's last copied key.
// params: $source, $tables
UNWIND $tables AS name
MERGE (m:Migration {source: $source, table: name})
