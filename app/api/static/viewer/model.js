// What the viewer draws, decided from lineages alone: no DOM, no cytoscape, no requests.
//
// A profile is cut into *parts* (parts.js): former profiles, or what is left of them, joined
// by the links merges added; the identifiers outside it (the other ends of links that left it)
// are parts of their own, one per profile they are in now. Each part is a box, but beyond a
// dozen parts, or five profiles outside, the rest share one box ("988 more parts", "1495 other
// profiles": a browser shared at a kiosk reaches a profile per person who used it), so the
// layout gets a few boxes however many parts there are. Inside a box, identifiers of one type
// form a *group*, drawn as one node with its count when it holds more than FOLD_ABOVE
// identifiers or while the view would hold more than MAX_NODES nodes. A hub (an identifier with
// far more links than its peers, such as a shared device) and an end of a merge link are drawn
// on their own, unless the view would still hold more than MAX_NODES nodes (hundreds of hubs or
// merge links): then they fold with their type, and if even that is too many (hundreds of
// types), the boxes with most nodes fold whole into one group each (their *rest*). What the
// person pinned (the selection, an explained path) or opened is drawn on its own, up to
// MAX_ALONE identifiers. So a view holds at most about MAX_NODES + MAX_ALONE nodes, whatever
// the lineage holds.
//
// Node ids: an identifier's is its key, `type:value`, which always holds a colon (graph/model.py
// identifier_key); no other id holds one (boxes, groups, folded links; a link's is its number),
// so no identifier can take the id of a box or a group.

import { boxesOf, partsByKey } from "./parts.js";

export const MAX_NODES = 50;
export const MAX_ALONE = 1000; // identifiers drawn on their own because pinned or opened
const FOLD_ABOVE = 10; // a group of more identifiers than this is folded even within MAX_NODES
const HUB_MIN_LINKS = 8; // fewer links than this is never a hub
const HUB_FACTOR = 5; // a hub has this many times the median links of its profile's identifiers

// The identifiers, links and merges of one or more lineages (after an undo the page draws
// both profiles), each identifier once, members before the same key seen from outside.
export function combine(lineages) {
  const identifiers = new Map();
  const links = new Map();
  const merges = new Map();
  const profiles = new Set(lineages.map((l) => l.profile.id));
  for (const lineage of lineages) {
    for (const identifier of lineage.identifiers) {
      const seen = identifiers.get(identifier.key);
      const member = profiles.has(identifier.profile_id);
      if (!seen || (member && !seen.member))
        identifiers.set(identifier.key, { ...identifier, member });
    }
    for (const link of lineage.links) links.set(link.id, link);
    for (const merge of lineage.merges) merges.set(merge.id, merge);
  }
  return {
    profiles: [...profiles],
    identifiers: [...identifiers.values()],
    links: [...links.values()].sort((x, y) => x.id - y.id),
    merges: [...merges.values()].sort((x, y) => x.id - y.id),
  };
}

// Parts (as boxes, parts.js), groups, hubs and degrees of a combined lineage: everything but
// what is expanded. `counts`: how many parts and profiles outside there are.
export function analyse(data) {
  const byKey = new Map(data.identifiers.map((i) => [i.key, i]));
  const degree = new Map(data.identifiers.map((i) => [i.key, 0]));
  for (const link of data.links) {
    if (!link.active || !byKey.has(link.a) || !byKey.has(link.b)) continue;
    degree.set(link.a, degree.get(link.a) + 1);
    degree.set(link.b, degree.get(link.b) + 1);
  }
  const { parts, counts } = boxesOf(data, byKey);
  const partOf = partsByKey(parts);
  const hubs = hubsOf(data.identifiers, degree);
  const anchors = new Set(hubs);
  for (const link of data.links) {
    if (link.merge_id !== null && byKey.has(link.a) && byKey.has(link.b)) {
      anchors.add(link.a);
      anchors.add(link.b);
    }
  }
  const groups = new Map();
  for (const part of parts) {
    const ofType = new Map();
    for (const key of part.keys) {
      const type = byKey.get(key).type;
      if (!ofType.has(type)) ofType.set(type, { id: groupId(part, type), part, type, keys: [] });
      ofType.get(type).keys.push(key);
    }
    for (const group of ofType.values()) groups.set(group.id, group);
  }
  const rests = new Map(parts.map((part) => [restId(part), part]));
  return { ...data, byKey, degree, parts, partOf, hubs, anchors, groups, rests, counts };
}

// The group that folds the identifiers of one type in a part, and the one that folds a whole
// part when even groups leave too many nodes. A type holds no '/' once escaped, nor any ':'.
const groupId = (part, type) => `group/${part.id}/${escaped(type)}`;
const restId = (part) => `rest/${part.id}`;

function escaped(text) {
  return String(text).replaceAll("%", "%25").replaceAll(":", "%3A").replaceAll("/", "%2F");
}

// The elements to draw: which groups stay folded, given the ones the person expanded and the
// identifiers that must be drawn on their own (pinned: the selection, an explained path), and
// the edges between what is drawn (links folded into one edge when both ends are folded alike).
// `opened`: identifier key -> the opened group that shows it on its own; `tooLarge`: the
// expanded groups left folded, as opening them would pass MAX_ALONE.
export function elementsOf(analysis, expanded, pinned = new Set()) {
  const { alone, opened, tooLarge } = drawnAlone(analysis, expanded, pinned);
  const folded = foldedGroups(analysis, alone);
  const shownAs = new Map(); // identifier key -> id of the node that shows it
  for (const group of folded) group.keys.forEach((key) => shownAs.set(key, group.id));
  const nodes = [];
  for (const part of analysis.parts) {
    const label = partLabel(part, analysis.profiles.length > 1);
    nodes.push({ id: part.id, kind: "part", part, label });
  }
  for (const group of folded) {
    nodes.push({
      id: group.id,
      kind: "group",
      parent: group.part.id,
      group,
      label: `${group.type ?? "identifiers"}\n× ${group.keys.length}`,
      type: group.type,
    });
  }
  for (const identifier of analysis.identifiers) {
    if (shownAs.has(identifier.key)) continue;
    shownAs.set(identifier.key, identifier.key);
    const hub = analysis.hubs.has(identifier.key);
    nodes.push({
      id: identifier.key,
      kind: "identifier",
      parent: analysis.partOf.get(identifier.key).id,
      identifier,
      hub,
      degree: analysis.degree.get(identifier.key),
      label: identifierLabel(identifier, hub ? analysis.degree.get(identifier.key) : 0),
      type: identifier.type,
    });
  }
  return { nodes, edges: edgesOf(analysis.links, shownAs), opened, tooLarge };
}

// The identifiers drawn on their own whatever else is folded: the pinned ones, then those of
// the groups the person opened (a type's, or a whole part's), while they stay within MAX_ALONE.
function drawnAlone(analysis, expanded, pinned) {
  const keys = [...pinned].filter((key) => analysis.byKey.has(key)).slice(0, MAX_ALONE);
  const alone = new Set(keys);
  const opened = new Map();
  const tooLarge = [];
  for (const id of [...expanded].sort()) {
    const group = analysis.groups.get(id) ?? analysis.rests.get(id);
    if (!group) continue; // not in this lineage (another instant, a profile since changed)
    const added = group.keys.filter((key) => !alone.has(key));
    if (alone.size + added.length > MAX_ALONE) {
      tooLarge.push(id);
      continue;
    }
    for (const key of group.keys) {
      alone.add(key);
      if (!opened.has(key)) opened.set(key, id); // a pinned one too: its group is open
    }
  }
  return { alone, opened, tooLarge };
}

// The groups drawn folded. Those drawn alone (pinned, opened) aside, while the view would hold
// more than MAX_NODES nodes: groups without the hubs and ends of merge links, then with them
// (hundreds of hubs, of merge links), then whole parts (hundreds of types).
function foldedGroups(analysis, alone) {
  const nodes = analysis.parts.length + analysis.identifiers.length;
  const apart = (key) => alone.has(key) || analysis.anchors.has(key);
  let { folded, count } = foldedTypes(analysis, nodes, apart);
  if (count - alone.size <= MAX_NODES) return folded;
  ({ folded, count } = foldedTypes(analysis, nodes, (key) => alone.has(key)));
  if (count - alone.size <= MAX_NODES) return folded;
  return foldedParts(analysis, alone, folded, count);
}

// Folds every group of more than FOLD_ABOVE identifiers (a ring of 24 browsers makes every
// label too small to read), then the largest groups first until the view holds at most
// MAX_NODES nodes; the identifiers `kept` out stay out, and a group of one is not folded.
function foldedTypes(analysis, count, kept) {
  const candidates = [...analysis.groups.values()]
    .map((group) => ({ ...group, keys: group.keys.filter((key) => !kept(key)) }))
    .filter((group) => group.keys.length > 1)
    .sort((x, y) => y.keys.length - x.keys.length || (x.id < y.id ? -1 : 1));
  const folded = [];
  for (const group of candidates) {
    if (count <= MAX_NODES && group.keys.length <= FOLD_ABOVE) break;
    folded.push(group);
    count -= group.keys.length - 1;
  }
  return { folded, count };
}

// Groups of one still too many (a part of hundreds of types): the parts with most nodes first
// fold whole, but what is drawn alone, into one group each, until the rest of the view holds
// at most MAX_NODES nodes.
function foldedParts(analysis, alone, groups, count) {
  const groupOf = new Map();
  groups.forEach((group) => group.keys.forEach((key) => groupOf.set(key, group.id)));
  const rests = analysis.parts
    .map((part) => {
      const keys = part.keys.filter((key) => !alone.has(key));
      const nodes = new Set(keys.map((key) => groupOf.get(key) ?? key)).size;
      return { id: restId(part), part, type: null, keys, nodes };
    })
    .filter((rest) => rest.nodes > 1)
    .sort((x, y) => y.nodes - x.nodes || (x.id < y.id ? -1 : 1));
  const whole = new Set();
  for (const rest of rests) {
    if (count - alone.size <= MAX_NODES) break;
    whole.add(rest.part);
    count -= rest.nodes - 1;
  }
  return [
    ...groups.filter((group) => !whole.has(group.part)),
    ...rests.filter((rest) => whole.has(rest.part)),
  ];
}

function edgesOf(links, shownAs) {
  const edges = new Map();
  const escapes = new Map(); // a hub's thousands of folded links name it as often
  const escape = (id) => escapes.get(id) ?? escapes.set(id, escaped(id)).get(id);
  for (const link of links) {
    const source = shownAs.get(link.a);
    const target = shownAs.get(link.b);
    if (source === undefined || target === undefined || source === target) continue;
    const kind = link.merge_id !== null ? "merge" : link.active ? "active" : "ended";
    const folded = source !== link.a || target !== link.b;
    const id = folded
      ? `links/${[source, target].sort().map(escape).join("/")}/${kind}`
      : String(link.id);
    if (!edges.has(id)) edges.set(id, { id, source, target, kind, links: [] });
    edges.get(id).links.push(link);
  }
  for (const edge of edges.values()) edge.label = edgeLabel(edge);
  return [...edges.values()];
}

// An identifier with at least HUB_MIN_LINKS active links and HUB_FACTOR times the median of
// the identifiers that have any.
function hubsOf(identifiers, degree) {
  const counts = identifiers
    .map((i) => degree.get(i.key))
    .filter((n) => n > 0)
    .sort((x, y) => x - y);
  if (!counts.length) return new Set();
  const median = counts[Math.floor((counts.length - 1) / 2)];
  const floor = Math.max(HUB_MIN_LINKS, HUB_FACTOR * median);
  return new Set(identifiers.filter((i) => degree.get(i.key) >= floor).map((i) => i.key));
}

// With several profiles drawn (both sides of an undone merge), each part says whose it is now.
function partLabel(part, severalProfiles) {
  const size = `${part.keys.length} identifier${part.keys.length === 1 ? "" : "s"}`;
  if (!part.member || part.parts) return `${part.name} · ${size}`;
  const owner = severalProfiles ? `profile ${part.profileId}: ` : "";
  const former = part.former === undefined ? "" : ` · from profile ${part.former}`;
  return `${owner}part ${part.name}${former} · ${size} · since ${part.since.slice(0, 10)}`;
}

// Two lines, type then value; a long value keeps both ends, where ids tend to differ.
function identifierLabel(identifier, hubLinks) {
  const value = identifier.value;
  const short = value.length > 16 ? `${value.slice(0, 7)}…${value.slice(-7)}` : value;
  return hubLinks
    ? `${identifier.type}\n${short}\nhub · ${hubLinks} links`
    : `${identifier.type}\n${short}`;
}

function edgeLabel(edge) {
  const [first] = edge.links;
  if (edge.links.length > 1) return `${edge.links.length} ${edge.kind} links`;
  const when = first.created_at.slice(5, 16).replace("T", " ");
  const merge = first.merge_id !== null ? `merge #${first.merge_id} · ` : "";
  return `${merge}${first.operation} · ${when}`;
}

// The merges that built the drawn profiles, oldest first, each with the links it added.
export function mergesOf(data) {
  const added = new Map();
  for (const link of data.links) {
    if (link.merge_id === null) continue;
    if (!added.has(link.merge_id)) added.set(link.merge_id, []);
    added.get(link.merge_id).push(link);
  }
  return data.merges
    .map((merge) => ({ ...merge, links: added.get(merge.id) || [] }))
    .sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : x.id - y.id));
}

// The instants at which the graph changed, for the time slider.
export function instantsOf(lineage) {
  const times = [
    ...lineage.links.flatMap((l) => [l.created_at, l.ended_at]),
    ...lineage.merges.flatMap((m) => [m.at, m.undone_at]),
  ];
  return [...new Set(times.filter(Boolean))].sort();
}

// "type:value": the type ends at the first ':', but an "ext:<system>" type spans two.
export function parseKey(text) {
  const trimmed = text.trim();
  const cut = trimmed.indexOf(":", trimmed.startsWith("ext:") ? 4 : 0);
  if (cut <= 0 || cut === trimmed.length - 1) return null;
  return { type: trimmed.slice(0, cut), value: trimmed.slice(cut + 1) };
}
