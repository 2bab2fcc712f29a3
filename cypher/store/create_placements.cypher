// From $at on, each identifier is in its profile (profile_id null: in none); a second
// placement of the same identifier at the same instant replaces the first.
// params: $ns, $rows, $at, $request_id
UNWIND $rows AS row
MERGE (p:Placement {ns: $ns, key: row.key, at: $at})
ON CREATE SET p.request_id = $request_id
SET p.profile_id = row.profile_id
