// The attribute writes made to profiles $ids, whatever identifier they came through.
// params: $ns, $ids
UNWIND $ids AS wanted
MATCH (w:AttributeWrite {ns: $ns, profile_id: wanted})
RETURN w.profile_id AS profile_id, w.via_key AS via_key, w.name AS name, w.value AS value,
       w.written_at AS written_at
