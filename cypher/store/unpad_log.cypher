// The padding of pad_log.cypher goes again, in a transaction of its own (set and removed in
// one, it would never reach the log).
MATCH (s:Sequence {ns: '', name: 'api_key'})
REMOVE s.log_padding
