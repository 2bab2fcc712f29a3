// Roaming devices: which browsers (browserId) or device uuids have passed between at least
// $min_users users of one type over time? Under the default `move` policy a browser seen with
// a second user of a unique type (customId, email, ext:<system>) leaves the first user's
// profile: its links there end with reason 'moved' and stay in the history. A device that
// moved between many users is a shared one (a kiosk, a family computer); one that moves back
// and forth between two is probably a couple's.
// One row per device and user type, most users first: `users` how many distinct identifiers
// of `user_type` the device was ever linked to (active links, and links ended by a move),
// `current` those it is linked to now, `moves` how many requests moved it away from some of
// them, `last_moved_at` the latest. Devices that never moved are left out (see
// shared_devices.cypher for devices holding several users at once).
// Reads the identifier_key index (ns, key) by key prefix.
// params: $ns, $min_users
UNWIND ['browserId:', 'uuid:'] AS prefix
MATCH (device:Identifier)
WHERE device.ns = $ns AND device.key STARTS WITH prefix
  AND EXISTS { (device)-[moved:LINKED]-(:Identifier) WHERE moved.end_reason = 'moved' }
MATCH (device)-[link:LINKED]-(user:Identifier)
WHERE NOT user.type IN ['browserId', 'uuid']
  AND (link.ended_at IS NULL OR link.end_reason = 'moved')
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
