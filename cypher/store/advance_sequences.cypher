// params: $rows
UNWIND $rows AS row
MATCH (s:Sequence {name: row.name})
SET s.next = CASE WHEN row.next > s.next THEN row.next ELSE s.next END
