// After a purge: a property as long as the log's rotation size, on the store-wide api_key
// sequence node, fills the transaction log file holding the purge, so Neo4j closes it and
// starts a new one; the checkpoints that follow can then prune it (graph/store/neo4j/purge.py,
// settle_erasure).
// params: $fill
MATCH (s:Sequence {ns: '', name: 'api_key'})
SET s.log_padding = $fill
