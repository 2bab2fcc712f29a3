// Roaming devices: which browsers (browserId) or device uuids have passed between at least
// $min_users users of one type over time? Under the default `move` policy a browser seen with
// a second user of a unique type (customId, email, ext:<system>) leaves the first user's
// profile: its links there end with reason 'moved' and stay in the history. A device that
// moved between many users is a shared one (a kiosk, a family computer); one that moves back
// and forth between two is probably a couple's.
// A device moved at a request when that request ended a link of it with reason 'moved' and
// placed the device elsewhere than where the rest of its profile went (the placements: where
// each identifier is from an instant on; the rule of departures.cypher). A link ended by a
// move of its other end (a neighbouring browser that moved away) is no move of this device.
// One row per device and user type, most users first: `users` how many distinct identifiers
// of `user_type` the device was ever linked to (active links, and links ended by a move of
// the device), `current` those it is linked to now, `moves` how many requests moved it away
// from some of them, `last_moved_at` the latest. Devices that never moved are left out (see
// shared_devices.cypher for devices holding several users at once).
// Reads the identifier_key index (ns, key) by key prefix, placements by the placement_at
// constraint (ns, key, at), profiles by the profile_id constraint (ns, id).
// params: $ns, $min_users
UNWIND ['browserId:', 'uuid:'] AS prefix
MATCH (device:Identifier)
WHERE device.ns = $ns AND device.key STARTS WITH prefix
// the instants it moved
WITH device, COLLECT {
  MATCH (device)-[moved:LINKED]-(:Identifier)
  WHERE moved.end_reason = 'moved'
  MATCH (placed:Placement {ns: $ns, key: device.key, at: moved.ended_at})
  // the profile it was in before (a list of one)
  WITH moved, placed, COLLECT {
    MATCH (before:Placement {ns: $ns, key: device.key})
    WHERE before.at < moved.ended_at
    RETURN before.profile_id ORDER BY before.at DESC LIMIT 1
  } AS was_in
  // it left if that request put it in no profile, or in one the rest of its profile did not
  // go to (an identifier that request created was in none before: left out)
  WHERE placed.profile_id IS NULL OR was_in <> [] AND NOT EXISTS {
    MATCH (part:Profile)-[absorbed:MERGED_INTO*0..8]->(:Profile {ns: $ns, id: placed.profile_id})
    WHERE (part.id IN was_in
           OR (part.parent_id IN was_in AND part.request_id = moved.ended_request_id))
      AND all(hop IN absorbed WHERE hop.request_id = moved.ended_request_id)
  }
  RETURN DISTINCT moved.ended_at
} AS moved_at
WHERE moved_at <> []
MATCH (device)-[link:LINKED]-(user:Identifier)
WHERE NOT user.type IN ['browserId', 'uuid']
  AND (link.ended_at IS NULL OR (link.end_reason = 'moved' AND link.ended_at IN moved_at))
WITH device, user, link
ORDER BY user.value
WITH device, user.type AS user_type,
     collect(DISTINCT user.value) AS users,
     collect(DISTINCT CASE WHEN link.ended_at IS NULL THEN user.value END) AS current,
     collect(DISTINCT link.ended_request_id) AS move_requests,
     max(link.ended_at) AS last_moved_at
WHERE size(users) >= $min_users
RETURN device.type AS device_type, device.value AS device, user_type, size(users) AS users,
       users[..10] AS sample, current, size(move_requests) AS moves, last_moved_at,
       device.profile_id AS profile_id
ORDER BY users DESC, device, user_type
