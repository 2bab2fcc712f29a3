// The padding of pad_log.cypher goes again, in a transaction of its own (set and removed in
// one, it would never reach the log).
MATCH (l:WriteLock {name: 'write'})
REMOVE l.log_padding
