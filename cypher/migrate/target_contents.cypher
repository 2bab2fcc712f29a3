// What the target holds already: how many profiles, and which sources migrations came from.
// A migration into a database holding data of its own is refused, unless it resumes one.
OPTIONAL MATCH (p:Profile)
WITH count(p) AS profiles
OPTIONAL MATCH (m:Migration)
RETURN profiles, collect(DISTINCT m.source) AS sources
