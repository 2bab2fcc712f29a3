// Tests only: empty the database between tests. The schema stays, and so do the records of
// it (SchemaStep): the store's next open puts back the seed nodes and nothing else.
MATCH (n)
WHERE NOT n:SchemaStep
DETACH DELETE n
