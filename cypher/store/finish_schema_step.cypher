// A one-time step of the schema is done.
// params: $name, $at
MERGE (s:SchemaStep {name: $name})
ON CREATE SET s.done_at = $at
