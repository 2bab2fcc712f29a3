// The identifiers of a profile at the instant $at, by key, a page at a time: those whose
// latest placement at or before $at is this profile.
// params: $ns, $id, $at, $after, $limit
MATCH (placed:Placement {ns: $ns, profile_id: $id})
WHERE placed.at <= $at AND placed.key > $after
  AND NOT EXISTS {
      MATCH (later:Placement {ns: $ns, key: placed.key})
      WHERE later.at > placed.at AND later.at <= $at
  }
MATCH (i:Identifier {ns: $ns, key: placed.key})
RETURN i.key AS key, i.type AS type, i.value AS value, placed.profile_id AS profile_id,
       i.created_at AS created_at
ORDER BY key
LIMIT $limit
