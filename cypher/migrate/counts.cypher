// How many of each kind every namespace holds, to compare with the source of a migration.
MATCH (i:Identifier)
RETURN i.ns AS ns, 'identifiers' AS kind, count(*) AS n
UNION ALL
MATCH (i:Identifier)-[:MEMBER_OF]->(:Profile)
RETURN i.ns AS ns, 'memberships' AS kind, count(*) AS n
UNION ALL
MATCH (p:Profile)
RETURN p.ns AS ns,
       CASE WHEN p.merged_into IS NULL THEN 'profiles live' ELSE 'profiles aliases' END AS kind,
       count(*) AS n
UNION ALL
MATCH (a:Identifier)-[l:LINKED]->(:Identifier)
RETURN a.ns AS ns,
       CASE WHEN l.ended_at IS NULL THEN 'links active' ELSE 'links ended' END AS kind,
       count(*) AS n
UNION ALL
MATCH (:Profile)-[m:MERGED_INTO]->(:Profile)
RETURN m.ns AS ns, 'merges' AS kind, count(*) AS n
UNION ALL
MATCH (w:AttributeWrite)
RETURN w.ns AS ns, 'attribute writes' AS kind, count(*) AS n
UNION ALL
MATCH (p:Placement)
RETURN p.ns AS ns, 'placements' AS kind, count(*) AS n
UNION ALL
MATCH (v:AttributeVersion)
RETURN v.ns AS ns, 'attribute versions' AS kind, count(*) AS n
UNION ALL
MATCH (c:Conflict)
RETURN c.ns AS ns, 'conflicts' AS kind, count(*) AS n
UNION ALL
MATCH (b:Ban)
RETURN b.ns AS ns, 'bans' AS kind, count(*) AS n
UNION ALL
MATCH (r:Request)
RETURN r.ns AS ns, 'requests' AS kind, count(*) AS n
UNION ALL
MATCH (p:Purge)
RETURN p.ns AS ns, 'purges' AS kind, count(*) AS n
UNION ALL
MATCH (k:ApiKey)
RETURN k.ns AS ns, 'api keys' AS kind, count(*) AS n
