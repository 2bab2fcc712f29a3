// Identifiers with every link and membership they have.
// params: $ns, $keys
UNWIND $keys AS gone
MATCH (i:Identifier {ns: $ns, key: gone})
DETACH DELETE i
