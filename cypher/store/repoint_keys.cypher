// Re-keying: what names the old key names the new one (attribute writes, bans, the merges of
// the profiles it has been in), and links joining the new key to itself end.
// params: $ns, $old, $new, $profiles, $at, $request_id
CALL () {
  MATCH (n:Identifier {ns: $ns, key: $new})-[l:LINKED]->(n)
  WHERE l.ended_at IS NULL
  SET l.ended_at = $at, l.end_reason = 'rekeyed', l.ended_request_id = $request_id
}
CALL () {
  MATCH (w:AttributeWrite {ns: $ns, via_key: $old})
  SET w.via_key = $new
}
CALL () {
  MATCH (b:Ban {ns: $ns, a_key: $old})
  SET b.a_key = $new
}
CALL () {
  MATCH (b:Ban {ns: $ns, b_key: $old})
  SET b.b_key = $new
}
CALL () {
  MATCH (:Profile)-[m:MERGED_INTO]->(survivor:Profile {ns: $ns})
  WHERE survivor.id IN $profiles AND m.survivor_key = $old
  SET m.survivor_key = $new
}
CALL () {
  MATCH (absorbed:Profile {ns: $ns})-[m:MERGED_INTO]->(:Profile)
  WHERE absorbed.id IN $profiles AND m.absorbed_key = $old
  SET m.absorbed_key = $new
}
