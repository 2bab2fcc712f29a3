// From $at on, each profile has these attribute values (JSON text {name: value}); a second
// version of the same profile at the same instant replaces the first.
// params: $ns, $rows, $at, $request_id
UNWIND $rows AS row
MERGE (v:AttributeVersion {ns: $ns, profile_id: row.profile_id, at: $at})
ON CREATE SET v.request_id = $request_id
SET v.attributes = row.attributes
