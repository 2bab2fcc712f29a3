// The attribute versions of the erased profiles.
// params: $ns, $ids
UNWIND $ids AS gone
MATCH (v:AttributeVersion {ns: $ns, profile_id: gone})
DELETE v
