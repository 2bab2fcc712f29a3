// The next free id of each kind.
MATCH (s:Sequence)
RETURN s.name AS name, s.next AS next
