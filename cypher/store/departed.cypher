// Identifiers in no profile any more (replaced, retired by a merge) linked to one of $keys.
// params: $ns, $keys
UNWIND $keys AS known
MATCH (:Identifier {ns: $ns, key: known})-[:LINKED]-(gone:Identifier)
WHERE gone.profile_id IS NULL
RETURN DISTINCT gone.key AS key
