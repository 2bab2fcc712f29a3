// Conflicts per rule per day: which rules refused items since $since, and how often?
// One row per day (UTC) and rule, oldest day first, the most frequent rule first within a
// day: `conflicts` the refused items, `requests` the distinct requests they came in,
// `example` the identifiers of the day's first refusal by that rule. A jump in one rule
// usually means a client started sending something new (a shared test email, a CRM re-using
// ids); GET /v1/{ns}/conflicts lists the refusals themselves.
// $since is a day ('2026-11-23') or a time, compared as text.
// Reads the conflict_id index (ns, id): `c.id > 0` holds for every conflict.
// params: $ns, $since
MATCH (c:Conflict)
WHERE c.ns = $ns AND c.id > 0 AND c.created_at >= $since
WITH substring(c.created_at, 0, 10) AS day, c.rule AS rule, c
ORDER BY c.id
WITH day, rule, count(*) AS conflicts, count(DISTINCT c.request_id) AS requests,
     head(collect(c.keys)) AS example
RETURN day, rule, conflicts, requests, example
ORDER BY day, conflicts DESC, rule
