// The merges of other profiles keep their records without naming an erased identifier as
// the side they joined.
// params: $ns, $ids, $keys
UNWIND $ids AS wanted
MATCH (:Profile {ns: $ns, id: wanted})-[m:MERGED_INTO]-(:Profile)
WHERE m.survivor_key IN $keys OR m.absorbed_key IN $keys
WITH DISTINCT m
SET m.survivor_key = CASE WHEN m.survivor_key IN $keys THEN null ELSE m.survivor_key END,
    m.absorbed_key = CASE WHEN m.absorbed_key IN $keys THEN null ELSE m.absorbed_key END
