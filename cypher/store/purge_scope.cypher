// A live profile and its aliases: what a purge erases.
// params: $ns, $id
MATCH (p:Profile {ns: $ns})
WHERE p.id = $id OR p.merged_into = $id
RETURN p.id AS id
