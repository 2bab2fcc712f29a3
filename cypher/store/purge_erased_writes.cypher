// What the person wrote: through the erased identifiers, and profile-level to the erased
// profiles, read before they go (as purge_attribute_writes.cypher: each write found once).
// params: $ns, $keys, $ids
MATCH (w:AttributeWrite {ns: $ns})
WHERE w.via_key IN $keys OR (w.via_key IS NULL AND w.profile_id IN $ids)
WITH DISTINCT w
RETURN w.profile_id AS profile_id, w.via_key AS via_key, w.name AS name, w.value AS value,
       w.request_id AS request_id, w.written_at AS written_at
