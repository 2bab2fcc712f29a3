// Raise each sequence of each namespace (and the store's floor, ns '') to at least the
// source's next id; never lower one.
// params: $rows
UNWIND $rows AS row
MERGE (s:Sequence {ns: row.ns, name: row.name})
SET s.next = CASE WHEN s.next IS NULL OR row.next > s.next THEN row.next ELSE s.next END
