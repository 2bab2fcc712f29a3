// Writes through the erased identifiers, and profile-level writes to the erased profiles;
// not writes through identifiers split off to someone else. Each write is found once, then
// deleted: the two conditions plan as two index seeks that can find the same write, and a
// write deleted by the first must not be read by the second.
// params: $ns, $keys, $ids
MATCH (w:AttributeWrite {ns: $ns})
WHERE w.via_key IN $keys OR (w.via_key IS NULL AND w.profile_id IN $ids)
WITH collect(DISTINCT w) AS erased
UNWIND erased AS w
DELETE w
