// Cutting a combined lineage (model.js, combine) into parts, and the parts into boxes to draw.
//
// A part is the identifiers that active links no merge added join: a former profile, or what
// is left of one. Identifiers outside the drawn profiles make one part per profile they are in
// now. Each part is a box, up to MEMBER_BOXES of the drawn profiles' and OUTSIDE_BOXES of
// profiles outside; beyond, the rest of each share one box. No id here holds a colon (model.js).

const MEMBER_BOXES = 12; // parts of the drawn profiles drawn as boxes, the last for the rest
const OUTSIDE_BOXES = 5; // profiles outside drawn as boxes, the last for the rest
// 2 * (MEMBER_BOXES + OUTSIDE_BOXES) <= MAX_NODES (model.js): each box and its rest fit

// The boxes to draw (parts, named after the profiles they were, and boxes of many parts) and
// `counts`: how many parts and profiles outside there are.
export function boxesOf(data, byKey) {
  const parts = partsOf(data, byKey);
  nameFormerProfiles(data.merges, partsByKey(parts));
  const members = parts.filter((part) => part.member).length;
  return {
    parts: boxed(parts, data.links),
    counts: { parts: members, outside: parts.length - members },
  };
}

export function partsByKey(parts) {
  const partOf = new Map();
  parts.forEach((part) => part.keys.forEach((key) => partOf.set(key, part)));
  return partOf;
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
    id: `part/${index}`,
    name: partName(index),
    member: true,
    profileId: identifiers[0].profile_id,
    since: oldest(identifiers).created_at,
    keys: identifiers.map((i) => i.key).sort(),
  }));
  for (const [pid, identifiers] of [...outside].sort(([x], [y]) => (x ?? 0) - (y ?? 0))) {
    parts.push({
      id: `outside/${pid ?? "none"}`,
      name: pid === null ? "no longer in any profile" : `in profile ${pid}`,
      member: false,
      profileId: pid,
      since: oldest(identifiers).created_at,
      keys: identifiers.map((i) => i.key).sort(),
    });
  }
  return parts;
}

// The parts as boxes: the profile's own parts, the most merges touch and the largest first,
// and the profiles outside, the largest and the latest linked first, each up to its number of
// boxes; the rest of each share the last box. Boxes keep the parts' order.
function boxed(parts, links) {
  const partOf = partsByKey(parts);
  const merges = new Map(parts.map((part) => [part, 0]));
  const latest = new Map(parts.map((part) => [part, ""]));
  for (const link of links) {
    const [a, b] = [partOf.get(link.a), partOf.get(link.b)];
    if (link.merge_id !== null && a && b && a !== b) {
      merges.set(a, merges.get(a) + 1);
      merges.set(b, merges.get(b) + 1);
    }
    const at = link.ended_at || link.created_at;
    for (const part of [a, b]) if (part && at > latest.get(part)) latest.set(part, at);
  }
  const bySize = (x, y) => y.keys.length - x.keys.length;
  const members = parts.filter((part) => part.member);
  const outside = parts.filter((part) => !part.member);
  return [
    ...sharing(members, MEMBER_BOXES, (x, y) => merges.get(y) - merges.get(x) || bySize(x, y), {
      id: "parts/more",
      member: true,
      name: (n) => `${n} more parts`,
    }),
    ...sharing(
      outside,
      OUTSIDE_BOXES,
      (x, y) =>
        bySize(x, y) ||
        later(latest.get(x), latest.get(y)) ||
        later(x.profileId ?? -1, y.profileId ?? -1),
      { id: "outside/others", member: false, name: (n) => `${n} other profiles` },
    ),
  ];
}

const later = (x, y) => (x < y ? 1 : x > y ? -1 : 0); // the greater first

// `parts` if they are at most `most`; else the first most - 1 by `rank`, then one box the
// others share (its `parts` lists them).
function sharing(parts, most, rank, { id, member, name }) {
  if (parts.length <= most) return parts;
  const kept = new Set([...parts].sort(rank).slice(0, most - 1));
  const others = parts.filter((part) => !kept.has(part));
  const box = {
    id,
    name: name(others.length),
    member,
    profileId: null,
    since: others.map((part) => part.since).reduce((x, y) => (y < x ? y : x)),
    keys: others.flatMap((part) => part.keys),
    parts: others,
  };
  return [...parts.filter((part) => kept.has(part)), box];
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
