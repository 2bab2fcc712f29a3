// Every namespace holding identifiers. It reads every identifier (a namespace's sequences are
// not enough: a store older than per-namespace sequences has none for its namespaces); only
// the one-off commands that go through a whole store ask (idgraph rekey).
// params:
MATCH (i:Identifier)
RETURN DISTINCT i.ns AS ns
ORDER BY ns
