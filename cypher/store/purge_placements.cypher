// The placement history of the erased identifiers.
// params: $ns, $keys
UNWIND $keys AS gone
MATCH (p:Placement {ns: $ns, key: gone})
DELETE p
