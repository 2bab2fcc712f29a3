// The next ids of each kind of a namespace, taking none: what a dry run plans with.
// params: $ns, $names
UNWIND $names AS wanted
OPTIONAL MATCH (s:Sequence {ns: $ns, name: wanted})
OPTIONAL MATCH (floor:Sequence {ns: '', name: wanted})
RETURN wanted AS name, coalesce(s.next, floor.next, 1) AS next
