// What the target holds already: the sources migrations into it came from, every node
// (nodes), and the nodes of each label idgraph writes (labels), each count answered by Neo4j's
// counts store without reading a node. What the labels leave of nodes is data of no idgraph
// label. SchemaStep and Sequence nodes are what an idgraph store creates when it opens an
// empty database, Migration nodes a migration's checkpoints: none of them is data. A
// migration into a database holding data is refused, unless it resumes one from the same
// source (graph/transfer/migrate.py).
RETURN COLLECT { MATCH (m:Migration) RETURN DISTINCT m.source } AS sources,
       COUNT { MATCH (n) } AS nodes,
       {
         SchemaStep: COUNT { MATCH (n:SchemaStep) },
         Sequence: COUNT { MATCH (n:Sequence) },
         Migration: COUNT { MATCH (n:Migration) },
         Profile: COUNT { MATCH (n:Profile) },
         Identifier: COUNT { MATCH (n:Identifier) },
         AttributeWrite: COUNT { MATCH (n:AttributeWrite) },
         Placement: COUNT { MATCH (n:Placement) },
         AttributeVersion: COUNT { MATCH (n:AttributeVersion) },
         Ban: COUNT { MATCH (n:Ban) },
         Conflict: COUNT { MATCH (n:Conflict) },
         Request: COUNT { MATCH (n:Request) },
         ApiKey: COUNT { MATCH (n:ApiKey) },
         Purge: COUNT { MATCH (n:Purge) }
       } AS labels
