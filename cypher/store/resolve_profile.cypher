// The live profile id: the profile itself, or the survivor it was merged into.
// params: $ns, $id
MATCH (p:Profile {ns: $ns, id: $id})
RETURN coalesce(p.merged_into, p.id) AS id
