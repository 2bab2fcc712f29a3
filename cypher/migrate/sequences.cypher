// Raise each sequence to at least the source's next id; never lower one.
// params: $rows
UNWIND $rows AS row
MERGE (s:Sequence {name: row.name})
SET s.next = CASE WHEN s.next IS NULL OR row.next > s.next THEN row.next ELSE s.next END
