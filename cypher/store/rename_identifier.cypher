// Re-keying, when no identifier has the new key yet: the identifier and its placements take
// it, with its new type and value.
// params: $ns, $old, $new, $type, $value
MATCH (i:Identifier {ns: $ns, key: $old})
SET i.key = $new, i.type = $type, i.value = $value
WITH DISTINCT i
MATCH (p:Placement {ns: $ns, key: $old})
SET p.key = $new
