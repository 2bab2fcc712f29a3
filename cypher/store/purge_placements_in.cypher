// Every placement in an erased profile, after the erased identifiers' own: an identifier of
// another person that was in one for a while (an undone merge, a split) is where it was
// before, in a time-travel read. Every placement has an instant: `p.at IS NOT NULL` lets the
// planner seek the placement_profile index (ns, profile_id, at).
// params: $ns, $ids
UNWIND $ids AS gone
MATCH (p:Placement {ns: $ns, profile_id: gone})
WHERE p.at IS NOT NULL
DELETE p
