// One step towards the profiles whose attribute writes count as $ids' own: for each of $ids,
// the profiles merged into it (merged_into is flattened: it names the live survivor), and
// the profile it was split from (parent_id) with the instant of the split (its created_at).
// params: $ns, $ids
UNWIND $ids AS wanted
MATCH (p:Profile {ns: $ns, id: wanted})
OPTIONAL MATCH (alias:Profile {ns: $ns, merged_into: wanted})
RETURN p.id AS id, p.parent_id AS parent_id, p.created_at AS created_at,
       collect(alias.id) AS aliases
