// Every sequence with its next id, to compare with the source of a migration.
MATCH (s:Sequence)
RETURN s.ns AS ns, s.name AS name, s.next AS next
