// The size at which Neo4j closes a transaction log file and starts the next one
// (db.tx_log.rotation.size), as Neo4j shows it: '128.00KiB'. A purge pads the log up to it
// (graph/store/neo4j/purge.py, settle_erasure).
SHOW SETTINGS YIELD name, value
WHERE name = 'db.tx_log.rotation.size'
RETURN value
