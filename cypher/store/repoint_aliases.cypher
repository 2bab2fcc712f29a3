// Aliases of a profile that was just absorbed answer for its live survivor now.
// params: $ns, $rows
UNWIND $rows AS row
MATCH (p:Profile {ns: $ns, merged_into: row.absorbed})
SET p.merged_into = row.live
