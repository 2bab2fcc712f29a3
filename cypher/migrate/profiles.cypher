// Copy profiles, aliases (merged_into set) included, with their attributes as the one JSON
// property the store reads (graph/store/rows.py; null: none).
// params: $rows
UNWIND $rows AS row
MERGE (p:Profile {ns: row.ns, id: row.id})
SET p.created_at = row.created_at, p.updated_at = row.updated_at,
    p.recognized = row.recognized, p.merged_into = row.merged_into,
    p.parent_id = row.parent_id, p.request_id = row.request_id,
    p.attributes = row.attributes
