// Tests only: drop the index a test's newer schema.cypher added.
DROP INDEX link_created IF EXISTS
