// Writes through the erased identifiers, and every write to the erased profiles: through
// identifiers that are someone else's now too (a shared device that moved away leaves its
// values in the profile it was in). Each write is found once, then deleted: the two
// conditions plan as two index seeks that can find the same write, and a write deleted by
// the first must not be read by the second.
// params: $ns, $keys, $ids
MATCH (w:AttributeWrite {ns: $ns})
WHERE w.via_key IN $keys OR w.profile_id IN $ids
WITH collect(DISTINCT w) AS erased
UNWIND erased AS w
DELETE w
