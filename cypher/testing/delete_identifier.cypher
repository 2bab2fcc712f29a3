// Tests only: damage a migrated copy by erasing one identifier with its relationships.
// params: $ns, $key
MATCH (i:Identifier {ns: $ns, key: $key})
DETACH DELETE i
