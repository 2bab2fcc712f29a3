// The checkpoints of the migration from $source: per table, the key of the last row copied
// (JSON text of the key's columns; null while nothing is copied).
// params: $source
MATCH (m:Migration {source: $source})
RETURN m.table AS table, m.after AS after
