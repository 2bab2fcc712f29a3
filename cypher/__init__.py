"""Every Cypher statement of idgraph, as files: schema.cypher (the model, its constraints and
indexes), store/ (what the Neo4j store runs), migrate/ (`idgraph migrate`), analytics/ (for
analysts and `idgraph cypher`) and testing/. A package only so that the files ship in the
wheel and load with importlib.resources (graph/store/cypher.py)."""
