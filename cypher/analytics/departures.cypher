// Departures: which identifiers left their profile since $since, and why?
// `moved`: a shared device (a type with the `move` policy, browserId by default) seen with
// another user left the previous one; `replaced`: a new identifier of its type replaced it
// (on_conflict "replace", e.g. a changed email); `merged`: an explicit merge retired it. A
// replaced or retired identifier is in no profile and stops resolving, until a later link
// names it again.
// One row per identifier and departure, oldest first: `left_at`, `reason`, `request_id` the
// request that made it leave, `was_linked_to` the identifiers its ended links joined it to
// (they were in the profile it left), `now_in` its profile now (empty when in none). A
// departure stays listed whatever happened to the identifier since.
// Which end of an ended link left is read from the placements (where each identifier is from
// an instant on): the request that ended the link placed the end that left, at its instant,
// in no profile (replaced, retired) or in another profile (moved). An end that request did
// not place stayed; so did one it placed where the rest of its profile went: a profile that
// split from the one it was in when the other end left (parent_id, created by that request),
// or one that absorbed either of those in the same request (MERGED_INTO of that request, up
// to 8 in a row). Whether the other end got a link of its own meanwhile plays no part. A link
// that one request both made and ended with a move (an item moving a browser an earlier item
// had just linked) shows no departure: where an identifier was within a request is not kept.
// $since is a day ('2026-11-23') or a time, compared as text.
// Starts from the link_ended index (ended_at >= $since) or from the namespace's identifiers
// (identifier_key, ns), whichever the planner finds cheaper; then placements by identifier
// (placement_at, placement_key) and profiles by id (profile_id).
// params: $ns, $since
MATCH (departed:Identifier)-[link:LINKED]-(other:Identifier)
WHERE departed.ns = $ns AND departed.key IS NOT NULL AND link.ended_at >= $since
  AND link.end_reason IN ['moved', 'replaced', 'merged']
MATCH (placed:Placement {ns: $ns, key: departed.key, at: link.ended_at})
// the profile it was in before (a list of one)
WITH departed, link, other, placed, COLLECT {
  MATCH (before:Placement {ns: $ns, key: departed.key})
  WHERE before.at < link.ended_at
  RETURN before.profile_id ORDER BY before.at DESC LIMIT 1
} AS was_in
// it left if that request put it in no profile, or in one the rest of its profile did not
// go to (an identifier that request created was in none before: left out)
WHERE placed.profile_id IS NULL OR was_in <> [] AND NOT EXISTS {
  MATCH (part:Profile)-[absorbed:MERGED_INTO*0..8]->(:Profile {ns: $ns, id: placed.profile_id})
  WHERE (part.id IN was_in
         OR (part.parent_id IN was_in AND part.request_id = link.ended_request_id))
    AND all(hop IN absorbed WHERE hop.request_id = link.ended_request_id)
}
WITH departed, link.ended_at AS left_at, link.end_reason AS reason,
     link.ended_request_id AS request_id, other
ORDER BY other.key
WITH departed, left_at, reason, request_id, collect(other.key) AS was_linked_to
RETURN left_at, reason, departed.key AS identifier, was_linked_to,
       departed.profile_id AS now_in, request_id
ORDER BY left_at, identifier
