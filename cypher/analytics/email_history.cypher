// Email history: which profiles have been recognized by at least $min_emails emails over time?
// An email counts for a profile if it is in the profile now, or if it left a profile and is
// in none now (replaced under `on_conflict = { email = "replace" }`, or retired by an explicit
// merge: its links ended with reason 'replaced' or 'merged') and an identifier it was linked
// to is in this profile now. Ended links need care both ways: an email still in another
// profile, reached through the ended link of a browser that moved here, is someone else's
// email and does not count; and when such a neighbour moved away after the email left, the
// email belongs to the profile the neighbour left (the other end of its first 'moved' link
// since), not to the one it moved to. Only one move is followed that way.
// One row per profile, most emails first: `emails` how many, `current` the emails it holds
// now, `former` those that left it, in the order they left, `last_left_at` when the latest
// left. Reads the identifier_key index (ns, key) by key prefix.
// params: $ns, $min_emails
MATCH (email:Identifier)
WHERE email.ns = $ns AND email.key STARTS WITH 'email:'
OPTIONAL MATCH (email)-[gone:LINKED]-(neighbour:Identifier)
WHERE email.profile_id IS NULL AND gone.end_reason IN ['replaced', 'merged']
// the neighbour's moves are compared with gone.ended_at after the match, not in it: a
// predicate on ended_at in the match lets the planner read the link_ended index once per row
// (every ended link of the graph) instead of the neighbour's few links
OPTIONAL MATCH (neighbour)-[move:LINKED]-(left_behind:Identifier)
WHERE move.end_reason = 'moved'
WITH email, gone, neighbour, move, left_behind
ORDER BY move.ended_at
WITH email, gone, neighbour,
     head(collect(CASE WHEN move.ended_at >= gone.ended_at THEN [left_behind.profile_id] END))
       AS moved_away
WITH email, gone,
     CASE
       WHEN email.profile_id IS NOT NULL THEN email.profile_id
       WHEN moved_away IS NOT NULL THEN moved_away[0]
       ELSE neighbour.profile_id
     END AS profile_id
WHERE profile_id IS NOT NULL
WITH profile_id, email.value AS address, max(gone.ended_at) AS left_at
ORDER BY profile_id, left_at
WITH profile_id, collect(address) AS addresses,
     collect(CASE WHEN left_at IS NULL THEN address END) AS current,
     collect(CASE WHEN left_at IS NOT NULL THEN address END) AS former,
     max(left_at) AS last_left_at
WHERE size(addresses) >= $min_emails
RETURN profile_id, size(addresses) AS emails, current, former, last_left_at
ORDER BY emails DESC, profile_id
