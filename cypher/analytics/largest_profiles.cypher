// Largest profiles: which live profiles hold the most identifiers, and of which types?
// One row per profile, largest first (at most $limit rows). `identifiers` is its size,
// `per_type` the count of each identifier type in it (most first), `recognized` whether it
// holds a recognizing identifier (an email by default). No profile grows beyond the rules'
// max_identifiers (1000 by default); a large anonymous profile with many browsers usually
// means a bot or a device shared by many people (see shared_devices.cypher).
// Reads the identifier_profile index (ns, profile_id); aliases hold no identifiers.
// params: $ns, $limit
MATCH (i:Identifier)
WHERE i.ns = $ns AND i.profile_id IS NOT NULL
WITH i.profile_id AS profile_id, i.type AS id_type, count(*) AS n
ORDER BY n DESC, id_type
WITH profile_id, sum(n) AS identifiers, collect(id_type + ': ' + toString(n)) AS per_type
ORDER BY identifiers DESC, profile_id
LIMIT $limit
MATCH (p:Profile {ns: $ns, id: profile_id})
RETURN profile_id, identifiers, per_type, p.recognized AS recognized,
       p.created_at AS created_at, p.updated_at AS updated_at
ORDER BY identifiers DESC, profile_id
