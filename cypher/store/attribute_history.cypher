// Attribute writes through $keys to the profiles that count as $ids' own (a row each,
// {id, until}: written to that profile at or before until, or at any time when until is null;
// with no $ids, to any profile), and profile-level writes (through no identifier) to $ids, in
// the order they were made: by time, then by position within their request.
// params: $ns, $keys, $ids, $rows
OPTIONAL MATCH (via:AttributeWrite {ns: $ns})
WHERE via.via_key IN $keys
  AND (size($ids) = 0
       OR any(row IN $rows WHERE row.id = via.profile_id
              AND (row.until IS NULL OR via.written_at <= row.until)))
WITH collect(via) AS through_keys
OPTIONAL MATCH (direct:AttributeWrite {ns: $ns})
WHERE direct.via_key IS NULL AND direct.profile_id IN $ids
WITH through_keys, collect(direct) AS to_profiles
UNWIND through_keys + to_profiles AS w
RETURN w.profile_id AS profile_id, w.via_key AS via_key, w.name AS name, w.value AS value,
       w.written_at AS written_at, w.request_id AS request_id, w.position AS position
ORDER BY written_at, position
