// Take the next row.count ids of each kind of a namespace, in a short transaction of its own
// (graph/store/neo4j/ids.py): answers the first, and the sequence moves past them. The lock
// is taken before next is read, so two writers never take the same ids. A namespace's
// sequence starts at the store's floor (ns ''), where there is one: a store written before
// sequences were per namespace numbered every namespace from one sequence.
// params: $ns, $rows
UNWIND $rows AS row
OPTIONAL MATCH (floor:Sequence {ns: '', name: row.name})
MERGE (s:Sequence {ns: $ns, name: row.name})
ON CREATE SET s.next = coalesce(floor.next, 1)
SET s._LOCK_ = true
WITH row, s, s.next AS first
SET s.next = first + row.count
REMOVE s._LOCK_
RETURN row.name AS name, first
