// Tests only: forget that the schema's statements ran, so that the next open runs them all.
MATCH (s:SchemaStep)
WHERE s.name STARTS WITH 'schema '
DELETE s
