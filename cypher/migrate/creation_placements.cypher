// The creation placement of an identifier that never changed profile, which SQLite keeps
// only as the identifier's created_at and profile_id: from at on it is in profile_id.
// params: $rows
UNWIND $rows AS row
MERGE (p:Placement {ns: row.ns, key: row.key, at: row.at})
SET p.profile_id = row.profile_id, p.request_id = row.request_id
