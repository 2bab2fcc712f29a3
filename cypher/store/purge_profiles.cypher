// Profiles with their merge records.
// params: $ns, $ids
UNWIND $ids AS gone
MATCH (p:Profile {ns: $ns, id: gone})
DETACH DELETE p
