// Which of these steps of the schema are done: the schema's statements as of one version of
// schema.cypher ('schema <digest>'), a one-time backfill of existing data.
// params: $names
MATCH (s:SchemaStep)
WHERE s.name IN $names
RETURN s.name AS name
