// What the viewer draws, decided from lineages alone: no DOM, no cytoscape, no requests.
//
// A profile is cut into *parts*: the identifiers its active links join once the links a merge
// added are taken out. Each part is a former profile (or what is left of one), and the merge
// links show where the parts were joined. Inside a part, identifiers of one type form a *group*,
// drawn as one node with its count when it holds more than FOLD_ABOVE identifiers or while the
// view would hold more than MAX_NODES nodes. A hub (an identifier with far more links than its
// peers, such as a shared device) and an end of a merge link are always drawn on their own. Identifiers outside the profile
// (the other ends of links that left it) are parts of their own, one per profile they are in.

export const MAX_NODES = 50;
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

// Parts, groups, hubs and degrees of a combined lineage: everything but what is expanded.
export function analyse(data) {
  const byKey = new Map(data.identifiers.map((i) => [i.key, i]));
  const degree = new Map(data.identifiers.map((i) => [i.key, 0]));
  for (const link of data.links) {
    if (!link.active || !byKey.has(link.a) || !byKey.has(link.b)) continue;
    degree.set(link.a, degree.get(link.a) + 1);
    degree.set(link.b, degree.get(link.b) + 1);
  }
  const parts = partsOf(data, byKey);
  const partOf = new Map();
  parts.forEach((part) => part.keys.forEach((key) => partOf.set(key, part)));
  nameFormerProfiles(data.merges, partOf);
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
    for (const key of part.keys) {
      if (anchors.has(key)) continue;
      const type = byKey.get(key).type;
      const id = `group:${part.id}:${type}`;
      if (!groups.has(id)) groups.set(id, { id, part, type, keys: [] });
      groups.get(id).keys.push(key);
    }
  }
  return { ...data, byKey, degree, parts, partOf, hubs, groups };
}

// The elements to draw: which groups stay folded, given the ones the person expanded and the
// identifiers that must be drawn on their own (pinned: the selection, an explained path), and
// the edges between what is drawn (links folded into one edge when both ends are folded alike).
export function elementsOf(analysis, expanded, pinned = new Set()) {
  const folded = foldedGroups(analysis, expanded, pinned);
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
      label: `${group.type}\n× ${group.keys.length}`,
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
  return { nodes, edges: edgesOf(analysis.links, shownAs) };
}

// Folds every group of more than FOLD_ABOVE identifiers (a ring of 24 browsers makes every
// label too small to read), then the largest groups first until the view holds at most
// MAX_NODES nodes; a group the person expanded stays open, a pinned identifier stays out, and a
// group of one is not folded.
function foldedGroups(analysis, expanded, pinned) {
  const candidates = [...analysis.groups.values()]
    .map((group) => ({ ...group, keys: group.keys.filter((key) => !pinned.has(key)) }))
    .filter((group) => group.keys.length > 1 && !expanded.has(group.id))
    .sort((x, y) => y.keys.length - x.keys.length || (x.id < y.id ? -1 : 1));
  let count = analysis.parts.length + analysis.identifiers.length;
  const folded = [];
  for (const group of candidates) {
    if (count <= MAX_NODES && group.keys.length <= FOLD_ABOVE) break;
    folded.push(group);
    count -= group.keys.length - 1;
  }
  return folded;
}

function edgesOf(links, shownAs) {
  const edges = new Map();
  for (const link of links) {
    const source = shownAs.get(link.a);
    const target = shownAs.get(link.b);
    if (source === undefined || target === undefined || source === target) continue;
    const kind = link.merge_id !== null ? "merge" : link.active ? "active" : "ended";
    const folded = source !== link.a || target !== link.b;
    const id = folded ? `links:${[source, target].sort().join("|")}:${kind}` : String(link.id);
    if (!edges.has(id)) edges.set(id, { id, source, target, kind, links: [] });
    edges.get(id).links.push(link);
  }
  for (const edge of edges.values()) edge.label = edgeLabel(edge);
  return [...edges.values()];
}

// Union-find over the active links no merge added, between identifiers of the same profile.
function partsOf(data, byKey) {
  const parent = new Map(data.identifiers.map((i) => [i.key, i.key]));
  const find = (key) => {
    while (parent.get(key) !== key) {
      parent.set(key, parent.get(parent.get(key)));
      key = parent.get(key);
    }
    return key;
  };
  for (const link of data.links) {
    const a = byKey.get(link.a);
    const b = byKey.get(link.b);
    if (!link.active || link.merge_id !== null || !a || !b) continue;
    if (a.member !== b.member || a.profile_id !== b.profile_id) continue;
    parent.set(find(link.a), find(link.b));
  }
  const roots = new Map();
  for (const identifier of data.identifiers) {
    const root = find(identifier.key);
    if (!roots.has(root)) roots.set(root, []);
    roots.get(root).push(identifier);
  }
  const members = [];
  const outside = new Map(); // profile id -> identifiers outside the drawn profiles
  for (const identifiers of roots.values()) {
    if (identifiers[0].member) members.push(identifiers);
    else {
      const pid = identifiers[0].profile_id;
      if (!outside.has(pid)) outside.set(pid, []);
      outside.get(pid).push(...identifiers); // not a copy per component: there may be hundreds
    }
  }
  const oldest = (identifiers) => identifiers.reduce((x, y) => (keyOrder(y, x) < 0 ? y : x));
  members.sort((x, y) => keyOrder(oldest(x), oldest(y)));
  const parts = members.map((identifiers, index) => ({
    id: `part:${index}`,
    name: partName(index),
    member: true,
    profileId: identifiers[0].profile_id,
    since: oldest(identifiers).created_at,
    keys: identifiers.map((i) => i.key).sort(),
  }));
  for (const [pid, identifiers] of [...outside].sort(([x], [y]) => (x ?? 0) - (y ?? 0))) {
    parts.push({
      id: `outside:${pid}`,
      name: pid === null ? "no longer in any profile" : `in profile ${pid}`,
      member: false,
      profileId: pid,
      since: oldest(identifiers).created_at,
      keys: identifiers.map((i) => i.key).sort(),
    });
  }
  return parts;
}

// Which profile each part was before it was merged: each merge names an identifier of either
// side (survivor_key, absorbed_key); oldest merge first, a part takes the first name it gets
// (a part absorbed into a profile that a later merge absorbed keeps its own id).
function nameFormerProfiles(merges, partOf) {
  const oldestFirst = [...merges].sort((x, y) =>
    x.at < y.at ? -1 : x.at > y.at ? 1 : x.id - y.id,
  );
  for (const merge of oldestFirst) {
    for (const [key, id] of [
      [merge.survivor_key, merge.survivor],
      [merge.absorbed_key, merge.absorbed],
    ]) {
      const part = key && partOf.get(key);
      if (part && part.member && part.former === undefined) part.former = id;
    }
  }
}

function keyOrder(x, y) {
  if (x.created_at !== y.created_at) return x.created_at < y.created_at ? -1 : 1;
  return x.key < y.key ? -1 : x.key > y.key ? 1 : 0;
}

// A, B, ... Z, AA, AB, ...
function partName(index) {
  let name = "";
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  }
  return name;
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
  if (!part.member) return `${part.name} · ${size}`;
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
