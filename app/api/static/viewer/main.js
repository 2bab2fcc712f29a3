// The lineage viewer (app/api/templates/viewer.html): one profile's identifiers and links as
// they are now or were at an instant, folded into parts and groups (model.js) so that a
// profile of 1,000 identifiers opens as a few dozen nodes; the merges that built it, each with
// an undo; why two identifiers are one profile; the same data as tables. The URL keeps the
// view (as of, selection, open groups, explained pair, table), so a link to it can be shared.
// Everything shown comes from the JSON API and is user input: it reaches the page as text.

import { api, isDotSegment, path, token } from "./api.js";
import { $, describe, el, say, when } from "./dom.js";
import { colourOf, createGraph, draw, highlight } from "./draw.js";
import {
  analyse,
  combine,
  elementsOf,
  instantsOf,
  MAX_ALONE,
  mergesOf,
  parseKey,
} from "./model.js";
import { showConflicts, showMerges } from "./timeline.js";

const page = document.body.dataset;
const API = page.root + path("v1", page.ns);
const LIMIT = 2000; // identifiers of a lineage page: above the default profile cap of 1,000
const BOX_LISTED = 20; // the profiles (or parts) a box of many lists in the side panel
const graph = $("graph");
const slider = $("time");
const call = api(API, { onUnauthorized: askForToken });
const cy = createGraph(graph);
const state = readUrl();
const viewer = (window.idgraphViewer = { cy, state, ready: Promise.resolve() });
let view = null; // {lineages, data, analysis, elements, byId} of the latest draw
let caller = null; // GET /me, once
let explanation = null; // the latest GET /explain answer
let loads = 0;
let draws = 0;

// --- the URL ----------------------------------------------------------------------------------

function readUrl() {
  const query = new URLSearchParams(window.location.search);
  const list = (name) => (query.get(name) || "").split(",").filter(Boolean);
  return {
    profileId: page.profileId,
    asOf: query.get("as_of"),
    selected: query.get("select"),
    expanded: new Set(list("expand")),
    also: list("also").filter((id) => /^\d+$/.test(id)),
    a: query.get("a") || "",
    b: query.get("b") || "",
    table: query.get("view") === "table",
    instants: [],
  };
}

function writeUrl() {
  const query = new URLSearchParams();
  if (state.asOf) query.set("as_of", state.asOf);
  if (state.selected) query.set("select", state.selected);
  if (state.expanded.size) query.set("expand", [...state.expanded].sort().join(","));
  if (state.also.length) query.set("also", state.also.join(","));
  if (state.a) query.set("a", state.a);
  if (state.b) query.set("b", state.b);
  if (state.table) query.set("view", "table");
  const search = query.toString();
  window.history.replaceState(null, "", search ? `?${search}` : window.location.pathname);
}

// --- loading and drawing ----------------------------------------------------------------------

// Fetches the lineages (as of the slider's instant) and draws them; `ready` settles after.
// When the slider moved on while a fetch was under way, only the newest answer is drawn.
function load() {
  const ticket = ++loads;
  const latest = () => ticket === loads;
  graph.dataset.state = "loading";
  viewer.ready = fetchAndDraw(latest).then(
    () => latest() && markReady(),
    (error) => {
      if (!latest()) return;
      graph.dataset.state = "error";
      say(error.message, true);
    },
  );
  return viewer.ready;
}

async function fetchAndDraw(latest) {
  const query = new URLSearchParams({ limit: LIMIT });
  if (state.asOf) query.set("as_of", state.asOf);
  const ids = [state.profileId, ...state.also];
  const lineages = await Promise.all(
    ids.map((id) => call("GET", `${path("profiles", id, "lineage")}?${query}`)),
  );
  if (!latest()) return;
  const [main] = lineages;
  // now: every instant; in the past (a shared link), those up to it until "now" is drawn
  const instants = state.asOf ? [...state.instants, ...instantsOf(main), state.asOf] : [];
  state.instants = state.asOf ? [...new Set(instants)].sort() : instantsOf(main);
  const data = combine(lineages);
  view = { lineages, data, analysis: analyse(data) };
  showTitle(lineages);
  showInstants();
  await render();
  showHistory(latest); // not awaited: the graph is ready before the side panel's lists
  if (state.a && state.b && !explanation) await explain();
}

async function render() {
  const pinned = new Set([...pathKeys(), state.selected].filter(Boolean));
  view.elements = elementsOf(view.analysis, state.expanded, pinned);
  for (const id of view.elements.tooLarge) state.expanded.delete(id);
  if (view.elements.tooLarge.length) {
    say(`too many to draw one by one (${MAX_ALONE} at most): the Table lists every identifier`);
  }
  view.byId = new Map();
  for (const item of [...view.elements.nodes, ...view.elements.edges]) view.byId.set(item.id, item);
  await draw(cy, view.elements);
  if (explanation) highlightPath();
  const selected = state.selected && cy.getElementById(state.selected);
  if (selected && selected.nonempty()) selected.select();
  showDetails(selected && selected.nonempty() ? state.selected : null);
  showLegend(view.data.identifiers);
  if (state.table) await showTableView();
  writeUrl();
}

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function markReady() {
  graph.dataset.draws = String(++draws);
  graph.dataset.state = "ready";
}

// A redraw of the same data (a group opened or folded): no fetch.
function redraw() {
  graph.dataset.state = "loading";
  viewer.ready = render().then(markReady, (error) => say(error.message, true));
  return viewer.ready;
}

function showTitle(lineages) {
  const [main] = lineages;
  const asked = state.profileId;
  const merged = String(main.profile.id) === asked ? "" : ` (profile ${asked} merged into it)`;
  const others = lineages
    .slice(1)
    .map((l) => ` and ${l.profile.id}`)
    .join("");
  $("title").replaceChildren(
    `Profile ${main.profile.id}${others}${merged} `,
    el("small", "", `in ${page.ns}`),
  );
  const shown = view.data.identifiers.filter((i) => i.member).length;
  const more = lineages.some((l) => l.next_cursor) ? ` (the first ${LIMIT} of each profile)` : "";
  const { parts, outside } = view.analysis.counts;
  const left = outside ? `; ended links reach ${plural(outside, "other profile")}` : "";
  $("note").textContent = `${shown} identifiers${more}, drawn as ${plural(parts, "part")}${left}`;
}

function showLegend(identifiers) {
  const types = [...new Set(identifiers.map((i) => i.type))].sort();
  $("legend").replaceChildren(
    ...types.map((type) => {
      const swatch = el("span", "swatch");
      swatch.style.backgroundColor = colourOf(type); // CSSOM, which the CSP allows
      return el("li", "", swatch, type);
    }),
  );
}

// --- the side panel ---------------------------------------------------------------------------

function showDetails(id) {
  const details = $("details");
  details.replaceChildren();
  $("group-actions").replaceChildren();
  $("end-form").hidden = true;
  const item = id ? view.byId.get(id) : null;
  if (!item) {
    $("panel-title").textContent = "Click an identifier, a group or a link";
    return;
  }
  const rows = [];
  if (item.kind === "identifier") {
    $("panel-title").textContent = `Identifier ${item.id}`;
    if (item.hub) rows.push(["hub", `${item.degree} active links, far more than its peers`]);
    rows.push(["links", String(item.degree)], ...Object.entries(item.identifier));
    const group = view.elements.opened.get(item.id);
    if (group) groupButton(foldLabel(group), group, false);
  } else if (item.kind === "group") {
    showGroup(item, rows);
  } else if (item.kind === "part" && item.part.parts) {
    showBox(item.part, rows);
  } else if (item.kind === "part") {
    $("panel-title").textContent = `Part ${item.part.name}`;
    rows.push(["identifiers", String(item.part.keys.length)], ["since", when(item.part.since)]);
    rows.push(["profile", item.part.profileId]);
    if (item.part.former !== undefined) rows.push(["was profile", item.part.former]);
  } else {
    showLinks(item, rows);
  }
  for (const [name, value] of rows) {
    const shown =
      value instanceof Node
        ? value
        : name === "profile_id" || name === "profile"
          ? profileLink(value)
          : describe(value);
    details.append(el("dt", "", name), el("dd", "", shown));
  }
}

// A folded group: of one type in a part, or all of a part's identifiers (`type` null).
function showGroup(item, rows) {
  const { group } = item;
  const what = group.type === null ? "" : ` ${group.type}`;
  $("panel-title").textContent = `${group.keys.length}${what} identifiers`;
  rows.push(["part", group.part.name], ["first", group.keys.slice(0, 5).join(", ")]);
  const label = group.type === null ? "Open the group" : `Open the ${group.type} group`;
  const button = groupButton(label, item.id, true);
  if (group.keys.length > MAX_ALONE) {
    button.disabled = true;
    $("group-actions").append(
      el("p", "why", `${MAX_ALONE} at most are drawn one by one: the Table lists them all`),
    );
  }
}

// An opened group: of one type, or all of a part's identifiers.
function foldLabel(id) {
  const group = view.analysis.groups.get(id);
  return group ? `Fold the ${group.type} group` : "Fold the group";
}

// The box of the parts, or the profiles outside, beyond those drawn as boxes of their own.
function showBox(box, rows) {
  $("panel-title").textContent = box.name;
  rows.push(["identifiers", String(box.keys.length)], ["since", when(box.since)]);
  const shown = box.parts.slice(0, BOX_LISTED);
  if (box.member) rows.push(["parts", shown.map((part) => part.name).join(", ")]);
  else rows.push(["profiles", profileLinks(shown.map((part) => part.profileId))]);
  const rest = box.parts.length - shown.length;
  const all = "the Table lists every identifier and its profile";
  rows.push(["all", rest > 0 ? `${rest} more; ${all}` : all]);
}

function showLinks(edge, rows) {
  if (edge.links.length > 1) {
    $("panel-title").textContent =
      `${edge.links.length} links between ${edge.source} and ${edge.target}`;
    for (const link of edge.links.slice(0, 20)) {
      rows.push([
        `link ${link.id}`,
        `${link.a} — ${link.b} · ${link.operation} · ${when(link.created_at)}`,
      ]);
    }
    return;
  }
  const [link] = edge.links;
  $("panel-title").textContent = `Link ${link.id}`;
  rows.push(...Object.entries(link));
  const form = $("end-form");
  form.hidden = !link.active;
  const writable = writability();
  form.querySelector("button").disabled = !writable.ok;
  $("end-why").textContent = writable.ok ? "" : writable.why;
}

function groupButton(label, group, open) {
  const button = el("button", "", label);
  button.type = "button";
  button.addEventListener("click", () => toggleGroup(group, open));
  $("group-actions").append(button);
  return button;
}

function toggleGroup(group, open) {
  if (open) state.expanded.add(group);
  else state.expanded.delete(group);
  state.selected = null;
  return redraw();
}

function profileLink(id) {
  if (id === null || id === undefined) return "—";
  const link = el("a", "", String(id));
  link.href = viewUrl(id);
  return link;
}

// Links to the views of profiles, comma separated ("—" for identifiers in no profile).
function profileLinks(ids) {
  const list = el("span", "");
  ids.forEach((id, at) => list.append(at ? ", " : "", profileLink(id)));
  return list;
}

function viewUrl(id) {
  return API + path("profiles", id, "view");
}

// What the person may change here, and if nothing, why.
function writability() {
  if (state.asOf) return { ok: false, why: "history is read only: move the slider to now" };
  if (caller && !caller.may_write) {
    const rights = caller.rights.join(" and ") || "nothing";
    return { ok: false, why: `read only: ${caller.name} may ${rights}, not write` };
  }
  return { ok: true, why: "" };
}

async function showHistory(latest) {
  const timeline = $("timeline");
  timeline.dataset.state = "loading";
  try {
    if (!caller) caller = await call("GET", "/me").catch(() => null);
    showCaller();
    showMergeList();
    const ids = [view.lineages[0].profile.id, ...state.also];
    const pages = await Promise.all(
      ids.map((id) => {
        const query = new URLSearchParams({ profile: id, limit: 100 });
        return call("GET", `/conflicts?${query}`);
      }),
    );
    if (!latest()) return;
    const conflicts = new Map(pages.flatMap((p) => p.conflicts).map((c) => [c.id, c]));
    const more = pages.some((p) => p.next_cursor);
    showConflicts(
      $("conflicts"),
      [...conflicts.values()].sort((x, y) => x.id - y.id),
      more,
    );
    timeline.dataset.state = "ready";
  } catch (error) {
    if (!latest()) return;
    timeline.dataset.state = "error";
    say(error.message, true);
  }
}

function showMergeList() {
  showMerges($("merges"), mergesOf(view.data), {
    writable: writability(),
    onUndo: askToUndo,
    onShowLink: (id) => select(String(id)),
    // where it joined: the links it added and their ends, the rest faded, while pointed at
    onPoint: (merge) => {
      if (!merge) return highlightPath();
      const ends = merge.links.flatMap((link) => [link.a, link.b]);
      highlight(
        cy,
        ends,
        merge.links.map((link) => link.id),
      );
    },
  });
}

function showCaller() {
  const writable = writability();
  $("caller").textContent = caller ? `${caller.name}${writable.ok ? "" : " · read only"}` : "";
}

// --- acting -----------------------------------------------------------------------------------

function select(id) {
  cy.$(":selected").unselect();
  const element = cy.getElementById(id);
  if (element.empty()) return say(`${id} is not drawn: open its group first`, true);
  element.select();
  state.selected = id;
  showDetails(id);
  writeUrl();
}

function askToUndo(merge) {
  const dialog = $("undo-dialog");
  const form = $("undo-form");
  form.dataset.mergeId = String(merge.id);
  $("undo-title").textContent = `Undo merge #${merge.id}?`;
  $("undo-what").textContent =
    `Profile ${merge.absorbed} comes back under its own id with the identifiers it brought, ` +
    `and the ${merge.links.length || "no"} link(s) this merge added end.`;
  dialog.showModal();
}

async function undo(event) {
  event.preventDefault();
  const form = event.target;
  const id = form.dataset.mergeId;
  $("undo-dialog").close();
  try {
    const body = { reason: form.elements.reason.value, ban: form.elements.ban.checked };
    const result = await call("POST", path("merges", id, "undo"), body);
    const ids = result.profiles.map((p) => p.id);
    drawBeside(ids);
    say(`merge #${id} undone: profiles ${ids.join(" and ")}, drawn side by side`);
    await load();
  } catch (error) {
    say(error.message, true);
  }
}

// The profiles a merge taken back separated, drawn beside the one shown.
function drawBeside(ids) {
  const shown = view.lineages[0].profile.id;
  state.also = ids.filter((pid) => pid !== shown && String(pid) !== state.profileId).map(String);
  state.selected = null;
}

async function endLink(event) {
  event.preventDefault();
  const link = view.byId.get(state.selected)?.links?.[0];
  const form = event.target;
  if (!link || !window.confirm(`End link ${link.id} between ${link.a} and ${link.b}?`)) return;
  try {
    const body = { reason: form.elements.reason.value, ban: form.elements.ban.checked };
    const result = await call("POST", path("links", link.id, "end"), body);
    form.reset();
    const ids = result.profiles.map((p) => p.id);
    if (result.merge) {
      // it was the last link joining a merge's sides: the merge is taken back, as an undo
      drawBeside(ids);
      say(`merge #${result.merge.id} taken back: profiles ${ids.join(" and ")}, drawn side by side`);
    } else say(result.split ? `split into profiles ${ids.join(" and ")}` : "still one profile");
    await load();
  } catch (error) {
    say(error.message, true);
  }
}

// Clicking an identifier fills the first empty side of the explain form (then the second).
function chooseForExplain(key) {
  const form = $("explain");
  const side = !form.elements.a.value || form.elements.b.value ? "a" : "b";
  form.elements[side].value = key;
  if (side === "a") form.elements.b.value = "";
}

async function explain() {
  const form = $("explain");
  form.elements.a.value ||= state.a;
  form.elements.b.value ||= state.b;
  const [a, b] = [form.elements.a.value.trim(), form.elements.b.value.trim()];
  if (!parseKey(a) || !parseKey(b))
    return say("write both as type:value, e.g. email:ann@x.io", true);
  const query = new URLSearchParams({ a, b });
  try {
    explanation = await call("GET", `/explain?${query}`);
  } catch (error) {
    explanation = null;
    return say(error.status === 404 ? `no such identifier: ${error.message}` : error.message, true);
  }
  Object.assign(state, { a, b });
  showExplanation();
  if (pathKeys().some(isFolded))
    await redraw(); // drawn on their own, their groups folded
  else highlightPath();
  writeUrl();
}

// Drawn inside a folded group (not on its own, and not absent).
function isFolded(key) {
  return view.analysis.partOf.has(key) && view.byId.get(key)?.kind !== "identifier";
}

function pathKeys() {
  if (!explanation?.connected) return [];
  return [explanation.a.key, ...explanation.path.map((step) => step.to)];
}

function highlightPath() {
  const links = explanation?.connected ? explanation.path.map((step) => step.link.id) : [];
  highlight(cy, pathKeys(), links);
}

function showExplanation() {
  const box = $("explain-result");
  const { a, b } = explanation;
  box.hidden = false;
  if (!explanation.connected) {
    box.replaceChildren(
      el("h2", "", "Not joined"),
      el(
        "p",
        "",
        `${a.key} is in profile ${a.profile_id}; ${b.key} is in profile ${b.profile_id}.`,
      ),
    );
    return;
  }
  const steps = explanation.path.map(({ from, to, link }) =>
    el(
      "li",
      "",
      el("div", "", `${from} — ${to}`),
      el(
        "div",
        "step",
        `link #${link.id} · ${link.operation} from ${link.source} · ${when(link.created_at)}`,
      ),
      el("div", "step", `request ${link.request_id}, item ${link.item_index}`),
    ),
  );
  const count = `${steps.length} active link${steps.length === 1 ? "" : "s"}`;
  box.replaceChildren(
    el("h2", "", `One profile: joined by ${count}`),
    el("ol", "path-steps", ...steps),
  );
}

function clearExplanation() {
  explanation = null;
  Object.assign(state, { a: "", b: "" });
  $("explain").reset();
  $("explain-result").hidden = true;
  highlight(cy, [], []);
  writeUrl();
}

async function showTableView() {
  const { showTable } = await import("./table.js");
  // one profile: its lineage as the API gave it; two (after an undo): both, combined
  const [main, ...others] = view.lineages;
  const more = view.lineages.find((lineage) => lineage.next_cursor)?.next_cursor ?? null;
  const data = others.length ? { ...view.data, next_cursor: more } : main;
  showTable($("table-view"), data, {
    onSelect: async (key) => {
      toggleTable(false);
      if (isFolded(key)) {
        state.selected = key; // pinned: drawn on its own
        await redraw();
      } else select(key);
      $("panel-title").focus(); // the focus was in the table, now hidden
    },
    filename: `idgraph-${page.ns}-profile-${view.data.profiles.join("-")}`,
  });
}

function toggleTable(show) {
  state.table = show;
  $("show-table").setAttribute("aria-pressed", String(show));
  $("table-view").hidden = !show;
  graph.hidden = show;
  writeUrl();
  if (!view) return; // the first draw shows the table
  if (show) return showTableView();
  cy.resize(); // drawn while hidden, at no size: fit it to the space it has now
  cy.fit(undefined, 30);
}

// --- time -------------------------------------------------------------------------------------

function showInstants() {
  slider.max = String(state.instants.length);
  const at = state.asOf ? state.instants.indexOf(state.asOf) : state.instants.length;
  slider.value = String(at < 0 ? state.instants.length : at);
  showInstant();
}

function showInstant() {
  const instant = state.instants[Number(slider.value)];
  $("time-label").textContent = instant ? `${instant} (history, read only)` : "now";
}

async function moveInTime() {
  state.asOf = state.instants[Number(slider.value)] || null;
  await load();
}

// --- search and the token ---------------------------------------------------------------------

async function search(event) {
  event.preventDefault();
  const key = parseKey(event.target.elements.key.value);
  if (!key) return say("write type:value, e.g. email:ann@x.io", true);
  try {
    window.location.assign(viewUrl(await profileOf(key)));
  } catch (error) {
    say(error.status === 404 ? "no such identifier" : error.message, true);
  }
}

// The id of the profile holding an identifier. A value "." or ".." cannot be a path segment
// (api.js, path): for those, GET /explain of the identifier with itself, which names it in the
// query string and answers the same lookup (the value normalized alike, a 404 when unknown).
async function profileOf({ type, value }) {
  if (!isDotSegment(value)) return (await call("GET", path("identifiers", type, value))).id;
  const key = `${type}:${value}`;
  return (await call("GET", `/explain?${new URLSearchParams({ a: key, b: key })}`)).a.profile_id;
}

function askForToken() {
  const form = $("token-form");
  form.hidden = false;
  form.elements.token.focus();
}

function useToken(event) {
  event.preventDefault();
  token.set(event.target.elements.token.value.trim());
  event.target.reset();
  event.target.hidden = true;
  caller = null;
  showTokenButton();
  say("");
  load();
}

function forgetToken() {
  token.forget();
  showTokenButton();
  say("token forgotten: the next call asks for one");
}

function showTokenButton() {
  $("forget-token").hidden = !token.get();
}

// --- wiring -----------------------------------------------------------------------------------

cy.on("tap", "node", (event) => {
  const id = event.target.id();
  const item = view.byId.get(id);
  if (item?.kind === "group") return toggleGroup(id, true);
  state.selected = id;
  if (item?.kind === "identifier") chooseForExplain(id);
  showDetails(id);
  writeUrl();
});
cy.on("tap", "edge", (event) => {
  state.selected = event.target.id();
  showDetails(state.selected);
  writeUrl();
});
cy.on("tap", (event) => {
  if (event.target !== cy) return;
  state.selected = null;
  showDetails(null);
  writeUrl();
});
slider.addEventListener("input", showInstant);
slider.addEventListener("change", moveInTime);
$("search").addEventListener("submit", search);
$("end-form").addEventListener("submit", endLink);
$("undo-form").addEventListener("submit", undo);
$("undo-cancel").addEventListener("click", () => $("undo-dialog").close());
$("explain").addEventListener("submit", (event) => {
  event.preventDefault();
  explanation = null;
  explain();
});
$("explain-clear").addEventListener("click", clearExplanation);
$("show-table").addEventListener("click", () => toggleTable(!state.table));
$("token-form").addEventListener("submit", useToken);
$("forget-token").addEventListener("click", forgetToken);
showTokenButton();
if (state.table) toggleTable(true);
load();
