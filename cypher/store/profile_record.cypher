// A profile, live or absorbed (merged_into names its live survivor).
// params: $ns, $id
MATCH (p:Profile {ns: $ns, id: $id})
RETURN p.id AS id, p.created_at AS created_at, p.updated_at AS updated_at,
       p.recognized AS recognized, p.merged_into AS merged_into
