// The attributes of profiles, as stored: JSON {name: {value, via, request_id, at}}.
// params: $ns, $ids
MATCH (p:Profile {ns: $ns})
WHERE p.id IN $ids AND p.attributes IS NOT NULL
RETURN p.id AS id, p.attributes AS attributes
