// Every identifier of the profiles $ids, oldest first.
// params: $ns, $ids
UNWIND $ids AS wanted
MATCH (i:Identifier {ns: $ns, profile_id: wanted})
RETURN i.profile_id AS profile_id, i.key AS key, i.type AS type, i.value AS value,
       i.created_at AS created_at
ORDER BY created_at, key
