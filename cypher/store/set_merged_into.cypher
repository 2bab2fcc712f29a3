// After an undone merge: an absorbed profile is live again (merged_into null), and its
// former aliases answer for it again. Rows in order: a later row for a profile wins.
// params: $ns, $rows
UNWIND $rows AS row
MATCH (p:Profile {ns: $ns, id: row.id})
SET p.merged_into = row.merged_into
