// Tests only: empty the database between tests (the schema stays).
MATCH (n)
DETACH DELETE n
