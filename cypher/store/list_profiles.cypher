// Live profiles in id order after $after, last updated in [$from, $before), holding an
// identifier of every type in $types.
// params: $ns, $after, $from, $before, $types, $limit
MATCH (p:Profile {ns: $ns})
WHERE p.merged_into IS NULL AND p.id > $after
  AND p.updated_at >= $from AND p.updated_at < $before
  AND all(wanted IN $types WHERE EXISTS {
      MATCH (i:Identifier {ns: $ns, profile_id: p.id}) WHERE i.type = wanted
  })
RETURN p.id AS id
ORDER BY id
LIMIT $limit
