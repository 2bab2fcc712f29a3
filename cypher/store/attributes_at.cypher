// A profile's attribute values (JSON text) as they were at $at: its latest version by then.
// params: $ns, $id, $at
MATCH (v:AttributeVersion {ns: $ns, profile_id: $id})
WHERE v.at <= $at
RETURN v.attributes AS attributes, v.at AS at
ORDER BY at DESC
LIMIT 1
