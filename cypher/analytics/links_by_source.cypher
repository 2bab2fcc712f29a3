// Links by source: what did one source (the `source` sent with a request, or the API key's
// name) link between $from (included) and $to (excluded)?
// One row per link, oldest first: `linked_from` and `linked_to` its two identifiers (an item
// links its first identifier to each of the others), `operation` what wrote it (native for
// /v1, sync for Adnuntius, client or batch for Synerise, customer for Omnidesk, merge for an
// explicit merge), `request_id` and `item_index` the request and item that made it,
// `profile_id` the profile of linked_from now, and for a link that has ended since,
// `ended_at` and `end_reason` (moved, replaced, merged).
// Times are text as idgraph writes them (2026-11-23T12:00:00.000000Z) and compare as text:
// pass a day ('2026-11-23') or a time ('2026-11-23T12:00').
// Reads the link_source index (source, created_at).
// params: $ns, $source, $from, $to
MATCH (a:Identifier)-[link:LINKED]->(b:Identifier)
WHERE link.source = $source AND link.created_at >= $from AND link.created_at < $to
  AND a.ns = $ns
RETURN link.created_at AS created_at, link.operation AS operation,
       link.request_id AS request_id, link.item_index AS item_index,
       a.key AS linked_from, b.key AS linked_to, a.profile_id AS profile_id,
       link.ended_at AS ended_at, link.end_reason AS end_reason
ORDER BY created_at, link.id
