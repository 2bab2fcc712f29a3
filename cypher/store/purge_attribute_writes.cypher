// Writes through the erased identifiers, and profile-level writes to the erased profiles;
// not writes through identifiers split off to someone else.
// params: $ns, $keys, $ids
MATCH (w:AttributeWrite {ns: $ns})
WHERE w.via_key IN $keys OR (w.via_key IS NULL AND w.profile_id IN $ids)
DELETE w
