// Make the store look as an idgraph before NAMES left it: no refusal names its profiles by
// relationship, and the one-time step that gives them theirs is not done
// (tests/contract/test_neo4j_conflict_names.py).
MATCH (s:SchemaStep {name: 'conflict_names'})
DETACH DELETE s
WITH count(*) AS steps
MATCH (:Conflict)-[n:NAMES]->(:Profile)
DELETE n
