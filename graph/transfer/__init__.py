"""Moving a graph between stores and out to files: `idgraph migrate` (migrate.py: SQLite into
Neo4j, resumable; verify.py: the copy checked against its source) and `idgraph export`
(export.py: GraphML, CSV for neo4j-admin). Each reads through a store opened read-only."""
