// Email history: which profiles have been recognized by at least $min_emails emails over time?
// An email counts for the profile it is in now, and for every profile it left when it was
// replaced (under `on_conflict = { email = "replace" }`) or retired by an explicit merge: its
// links ended with reason 'replaced' or 'merged', and the request that ended them placed it in
// no profile (the placements: where each identifier is from an instant on; a request that
// replaced the email's neighbour did not place the email at all). The profile it left is the
// one its placement before that request names or, if a merge absorbed that profile since, the
// live profile that did (merged_into). Its neighbours play no part: a browser that moved away
// since, or an email of another profile reached through a browser that moved here, gives it
// to no other profile. An email that left a profile counts for it even when it is in a profile
// again, as current for the profile holding it now. An email replaced by the request that
// added it was in no profile before that request, and counts for none it left.
// One row per profile, most emails first: `emails` how many, `current` the emails it holds
// now, `former` those that left it (and are not back in it), in the order they left,
// `last_left_at` when the latest of those left. Reads the identifier_key index (ns, key) by
// key prefix, then placements by identifier (placement_at) and profiles by id (profile_id).
// params: $ns, $min_emails
MATCH (email:Identifier)
WHERE email.ns = $ns AND email.key STARTS WITH 'email:'
// the instants it left a profile
WITH email, COLLECT {
  MATCH (email)-[gone:LINKED]-(:Identifier)
  WHERE gone.end_reason IN ['replaced', 'merged']
  MATCH (out:Placement {ns: $ns, key: email.key, at: gone.ended_at})
  WHERE out.profile_id IS NULL
  RETURN DISTINCT out.at
} AS departures
// a row for where it is now (left_at null), and one for each profile it left
UNWIND [null] + departures AS left_at
// the profile it left: where its latest placement before it left put it (none for the now row)
WITH email, left_at, COLLECT {
  MATCH (before:Placement {ns: $ns, key: email.key})
  WHERE before.at < left_at
  RETURN before.profile_id ORDER BY before.at DESC LIMIT 1
} AS left_from
WITH email, left_at, CASE WHEN left_at IS NULL THEN email.profile_id ELSE head(left_from) END
     AS was_in
WHERE was_in IS NOT NULL
OPTIONAL MATCH (left:Profile {ns: $ns, id: was_in})
WITH coalesce(left.merged_into, was_in) AS profile_id, email.value AS address, left_at
WITH profile_id, address, count(*) > count(left_at) AS held, max(left_at) AS left_at
ORDER BY profile_id, left_at, address
WITH profile_id, collect(address) AS addresses,
     collect(CASE WHEN held THEN address END) AS current,
     collect(CASE WHEN NOT held THEN address END) AS former,
     max(CASE WHEN NOT held THEN left_at END) AS last_left_at
WHERE size(addresses) >= $min_emails
RETURN profile_id, size(addresses) AS emails, current, former, last_left_at
ORDER BY emails DESC, profile_id
