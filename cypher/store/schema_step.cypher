// Whether a one-time step of the schema (a backfill of existing data) is done.
// params: $name
MATCH (s:SchemaStep {name: $name})
RETURN s.done_at AS done_at
