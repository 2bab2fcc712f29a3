// Make an identifier name the profile its own was merged into, as a read that straddles a
// merge's commit sees it: the identifier read before the commit, its profile after
// (tests/contract/test_neo4j_lookup_during_merge.py).
// params: $ns, $key, $absorbed
MATCH (i:Identifier {ns: $ns, key: $key})
SET i.profile_id = $absorbed
