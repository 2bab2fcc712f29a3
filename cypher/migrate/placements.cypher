// Copy the placements time travel reads: from at on, the identifier is in profile_id (null:
// in none). Found again on their key by a rerun.
// params: $rows
UNWIND $rows AS row
MERGE (p:Placement {ns: row.ns, key: row.key, at: row.at})
SET p.profile_id = row.profile_id, p.request_id = row.request_id
