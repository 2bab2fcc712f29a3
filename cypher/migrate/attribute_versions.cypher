// Copy the attribute versions time travel reads: from at on, the profile's values (JSON
// text {name: value}). Found again on their key by a rerun.
// params: $rows
UNWIND $rows AS row
MERGE (v:AttributeVersion {ns: row.ns, profile_id: row.profile_id, at: row.at})
SET v.attributes = row.attributes, v.request_id = row.request_id
