// Advance a table's checkpoint, after its batch has committed: a rerun copies what follows
// $after (JSON text of the last copied row's key columns).
// params: $source, $table, $after
MERGE (m:Migration {source: $source, table: $table})
SET m.after = $after
