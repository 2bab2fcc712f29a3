// Attribute versions of other profiles, without the erased person's values (JSON text).
// params: $ns, $rows
UNWIND $rows AS row
MATCH (v:AttributeVersion {ns: $ns, profile_id: row.profile_id, at: row.at})
SET v.attributes = row.attributes
