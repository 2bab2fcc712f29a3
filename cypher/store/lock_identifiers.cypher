// A writer's lock on the identifiers its batch names that exist, taken in key order and held
// until it commits: no other writer moves them meanwhile (one in no profile has no profile
// lock to guard it). Setting and removing _LOCK_ in one statement locks and changes nothing.
// Answers the keys that exist, and the profile each is in.
// params: $ns, $keys
UNWIND $keys AS key
MATCH (i:Identifier {ns: $ns, key: key})
SET i._LOCK_ = true
REMOVE i._LOCK_
RETURN i.key AS key, i.profile_id AS profile_id
