// The attribute versions (JSON text) of other profiles the erased person reached.
// params: $ns, $ids
UNWIND $ids AS wanted
MATCH (v:AttributeVersion {ns: $ns, profile_id: wanted})
RETURN v.profile_id AS profile_id, v.at AS at, v.attributes AS attributes
