// Copy refused links with their ids; identifiers ([type, value] pairs) as parallel lists of
// types, values and keys; profiles are copied before them, and each gets its NAMES.
// params: $rows
UNWIND $rows AS row
MERGE (c:Conflict {ns: row.ns, id: row.id})
SET c.created_at = row.created_at, c.request_id = row.request_id,
    c.item_index = row.item_index, c.rule = row.rule, c.profiles = row.profiles,
    c.types = [pair IN row.identifiers | pair[0]], c.values = [pair IN row.identifiers | pair[1]],
    c.keys = row.keys
WITH c, row
UNWIND row.profiles AS profile_id
MATCH (p:Profile {ns: row.ns, id: profile_id})
MERGE (c)-[:NAMES]->(p)
