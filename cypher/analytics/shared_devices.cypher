// Shared devices: which browsers (browserId) or device uuids are linked right now, by active
// links, to at least $min_users identifiers of one other type, e.g. many customIds or many
// ext:<system> ids? A kiosk, a family tablet, a shop's till: one device, several users.
// One row per device and user type, most users first: `users` how many distinct identifiers
// of `user_type` the device has an active link to, `sample` the first 10 of them, `profile_id`
// the device's profile (which holds them all). Only a type that is not unique per profile can
// gather several users in one profile; where it is unique (the default for customId, email,
// ext:*), a shared browser under the `move` policy passes from user to user instead, ending
// its old links: roaming_devices.cypher finds those.
// Reads the identifier_key index (ns, key) by key prefix.
// params: $ns, $min_users
UNWIND ['browserId:', 'uuid:'] AS prefix
MATCH (device:Identifier)
WHERE device.ns = $ns AND device.key STARTS WITH prefix
MATCH (device)-[link:LINKED]-(user:Identifier)
WHERE link.ended_at IS NULL AND NOT user.type IN ['browserId', 'uuid']
WITH device, user
ORDER BY user.value
WITH device, user.type AS user_type, collect(DISTINCT user.value) AS users
WHERE size(users) >= $min_users
RETURN device.type AS device_type, device.value AS device, user_type,
       size(users) AS users, users[..10] AS sample, device.profile_id AS profile_id
ORDER BY users DESC, device, user_type
