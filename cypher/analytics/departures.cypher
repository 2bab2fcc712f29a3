// Departures: which identifiers left their profile since $since, and why?
// `moved`: a shared device (a type with the `move` policy, browserId by default) seen with
// another user left the previous one; `replaced`: a new identifier of its type replaced it
// (on_conflict "replace", e.g. a changed email); `merged`: an explicit merge retired it. A
// replaced or retired identifier is in no profile and stops resolving.
// One row per identifier and departure, oldest first: `left_at`, `reason`, `request_id` the
// request that made it leave, `was_linked_to` the identifiers its ended links joined it to
// (they were in the profile it left), `now_in` its profile now (empty when in none).
// Of the two ends of an ended link, the one that left is the one in no profile now or, for a
// move, the one that got a new link in the same request.
// $since is a day ('2026-11-23') or a time, compared as text.
// params: $ns, $since
MATCH (departed:Identifier)-[link:LINKED]-(other:Identifier)
WHERE departed.ns = $ns AND departed.key IS NOT NULL AND link.ended_at >= $since
  AND link.end_reason IN ['moved', 'replaced', 'merged']
  AND (departed.profile_id IS NULL OR (link.end_reason = 'moved' AND EXISTS {
    (departed)-[arrival:LINKED]-(:Identifier) WHERE arrival.request_id = link.ended_request_id
  }))
WITH departed, link.ended_at AS left_at, link.end_reason AS reason,
     link.ended_request_id AS request_id, other
ORDER BY other.key
WITH departed, left_at, reason, request_id, collect(other.key) AS was_linked_to
RETURN left_at, reason, departed.key AS identifier, was_linked_to,
       departed.profile_id AS now_in, request_id
ORDER BY left_at, identifier
