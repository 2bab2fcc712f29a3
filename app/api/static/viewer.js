// The lineage viewer (app/api/templates/viewer.html): draws one profile's identifiers and links,
// as they are now or as they were at an instant of their history. Everything shown comes
// from the JSON API and is user input: it reaches the page through textContent and
// cytoscape's canvas only, never through innerHTML.
"use strict";

(() => {
  const page = document.body.dataset;
  const API = `${page.root}/v1/${encodeURIComponent(page.ns)}`;
  const TOKEN_KEY = "idgraph.token";
  const LIMIT = 2000;
  const TYPE_COLOURS = {
    email: "#1f77b4",
    phone: "#2ca02c",
    uuid: "#9467bd",
    browserId: "#ff7f0e",
    customId: "#d62728",
  };
  const OTHER_COLOURS = ["#17becf", "#8c564b", "#e377c2", "#bcbd22", "#393b79", "#637939"];
  const STYLE = [
    {
      selector: "node",
      style: {
        "background-color": "data(colour)",
        label: "data(label)",
        "font-size": 12,
        "text-valign": "bottom",
        "text-margin-y": 4,
        "text-wrap": "wrap",
        "text-background-color": "#fff",
        "text-background-opacity": 0.7,
        width: 20,
        height: 20,
      },
    },
    {
      selector: "node.outside",
      style: {
        "background-color": "#d0d0d0",
        color: "#999",
        "border-width": 1,
        "border-color": "#999",
      },
    },
    {
      selector: "edge",
      style: {
        width: 2,
        "line-color": "#777",
        "curve-style": "bezier",
        label: "data(label)",
        "font-size": 10,
        color: "#444",
        "text-rotation": "autorotate",
        "text-background-color": "#fff",
        "text-background-opacity": 0.85,
      },
    },
    {
      selector: "edge.ended",
      style: { "line-style": "dashed", "line-color": "#bbb", color: "#999" },
    },
    { selector: "node:selected", style: { "border-width": 4, "border-color": "#f5a623" } },
    { selector: "edge:selected", style: { "line-color": "#f5a623", width: 4 } },
  ];

  const $ = (id) => document.getElementById(id);
  const graph = $("graph");
  const slider = $("time");
  const state = { profileId: page.profileId, asOf: null, instants: [], positions: new Map() };
  const cy = cytoscape({ container: graph, style: STYLE, maxZoom: 1.2 });
  const viewer = (window.idgraphViewer = { cy, ready: Promise.resolve(), lineage: null });
  let draws = 0; // finished draws, in data-draws for tests
  let loads = 0;

  class ApiError extends Error {
    constructor(status, body) {
      super(body?.error?.message || `the server answered ${status}`);
      this.status = status;
    }
  }

  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => null);
    if (response.status === 401) askForToken();
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  // Fetches the lineage (as of the slider's instant) and draws it; `ready` settles after. When
  // the slider moved on while a fetch was under way, only the newest answer is drawn.
  function load() {
    const ticket = ++loads;
    const latest = () => ticket === loads;
    graph.dataset.state = "loading";
    viewer.ready = fetchAndDraw(latest).then(
      () => {
        if (!latest()) return;
        graph.dataset.draws = String(++draws);
        graph.dataset.state = "ready";
      },
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
    const lineage = await call("GET", `/profiles/${state.profileId}/lineage?${query}`);
    if (!latest()) return;
    viewer.lineage = lineage;
    if (!state.asOf) state.instants = instantsOf(lineage);
    showProfile(lineage);
    showInstants();
    await draw(lineage);
  }

  async function draw(lineage) {
    const drawn = new Set(lineage.identifiers.map((i) => i.key));
    const nodes = lineage.identifiers.map((i) => ({
      group: "nodes",
      data: { id: i.key, label: nodeLabel(i), colour: colourOf(i.type), record: i },
      classes: i.member ? [] : ["outside"],
    }));
    const edges = lineage.links
      .filter((l) => drawn.has(l.a) && drawn.has(l.b))
      .map((l) => ({
        group: "edges",
        data: { id: String(l.id), source: l.a, target: l.b, label: edgeLabel(l), record: l },
        classes: l.active ? [] : ["ended"],
      }));
    const selected = cy.$(":selected").map((e) => e.id());
    cy.batch(() => {
      cy.elements().remove();
      cy.add([...nodes, ...edges]);
    });
    await runLayout();
    selected.forEach((id) => cy.getElementById(id).select());
    showDetails(cy.$(":selected")[0]);
    showLegend(lineage.identifiers);
  }

  // Nodes keep their places while the slider moves; a node never seen before lays all out anew
  // (cose, force-directed: labels do not overlap).
  async function runLayout() {
    cy.resize(); // the page around the graph may have changed (the token form came or went)
    const known = cy.nodes().every((n) => state.positions.has(n.id()));
    const options = known
      ? { name: "preset", positions: (node) => state.positions.get(node.id()) }
      : {
          name: "cose",
          animate: false,
          nodeDimensionsIncludeLabels: true,
          idealEdgeLength: () => 100,
        };
    const layout = cy.layout({ ...options, fit: true, padding: 40 });
    const done = Promise.all([layout.pon("layoutstop"), new Promise((r) => cy.one("render", r))]);
    layout.run();
    await done; // laid out and painted: what a test reads from cy is on the screen
    cy.nodes().forEach((n) => state.positions.set(n.id(), { ...n.position() }));
  }

  function showProfile(lineage) {
    const profile = lineage.profile;
    const asked = state.profileId;
    const merged = String(profile.id) === asked ? "" : ` (profile ${asked} merged into it)`;
    $("title").replaceChildren(`Profile ${profile.id}${merged} `, el("small", `in ${page.ns}`));
    const more = lineage.next_cursor ? `showing the first ${LIMIT} identifiers` : "";
    $("note").textContent = more;
  }

  function showDetails(element) {
    const details = $("details");
    details.replaceChildren();
    $("end-form").hidden = true;
    if (!element) {
      $("panel-title").textContent = "Click an identifier or a link";
      return;
    }
    const record = element.data("record");
    const title = element.isNode() ? `Identifier ${record.key}` : `Link ${record.id}`;
    $("panel-title").textContent = title;
    for (const [name, value] of Object.entries(record)) {
      const shown = name === "profile_id" && value !== null ? profileLink(value) : describe(value);
      details.append(el("dt", name), el("dd", shown));
    }
    $("end-form").hidden = !(element.isEdge() && record.active && !state.asOf);
  }

  function showLegend(identifiers) {
    const types = [...new Set(identifiers.map((i) => i.type))].sort();
    $("legend").replaceChildren(
      ...types.map((type) => {
        const swatch = el("span", "", "swatch");
        swatch.style.backgroundColor = colourOf(type); // CSSOM, which the CSP allows
        return el("li", swatch, "", type);
      }),
    );
  }

  // The slider's positions: every instant at which the profile's graph changed, then "now".
  function instantsOf(lineage) {
    const times = [
      ...lineage.links.flatMap((l) => [l.created_at, l.ended_at]),
      ...lineage.merges.flatMap((m) => [m.at, m.undone_at]),
    ];
    return [...new Set(times.filter(Boolean))].sort();
  }

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

  async function endLink(event) {
    event.preventDefault();
    const link = cy.$("edge:selected")[0]?.data("record");
    const form = event.target;
    if (!link || !window.confirm(`End link ${link.id} between ${link.a} and ${link.b}?`)) return;
    try {
      const body = { reason: form.elements.reason.value, ban: form.elements.ban.checked };
      const result = await call("POST", `/links/${link.id}/end`, body);
      form.reset();
      const ids = result.profiles.map((p) => p.id).join(" and ");
      say(result.split ? `split into profiles ${ids}` : "still one profile");
      await load();
    } catch (error) {
      say(error.message, true);
    }
  }

  async function search(event) {
    event.preventDefault();
    const key = parseKey(event.target.elements.key.value);
    if (!key) return say("write type:value, e.g. email:ann@x.io", true);
    try {
      const path = `/identifiers/${encodeURIComponent(key.type)}/${encodeURIComponent(key.value)}`;
      const profile = await call("GET", path);
      window.location.assign(viewUrl(profile.id));
    } catch (error) {
      say(error.status === 404 ? "no such identifier" : error.message, true);
    }
  }

  // "type:value": the type ends at the first ':', but an "ext:<system>" type spans two.
  function parseKey(text) {
    const trimmed = text.trim();
    const cut = trimmed.indexOf(":", trimmed.startsWith("ext:") ? 4 : 0);
    if (cut <= 0 || cut === trimmed.length - 1) return null;
    return { type: trimmed.slice(0, cut), value: trimmed.slice(cut + 1) };
  }

  function askForToken() {
    const form = $("token-form");
    form.hidden = false;
    form.elements.token.focus();
  }

  function useToken(event) {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, event.target.elements.token.value.trim());
    event.target.reset();
    event.target.hidden = true;
    showTokenButton();
    say("");
    load();
  }

  function forgetToken() {
    sessionStorage.removeItem(TOKEN_KEY);
    showTokenButton();
    say("token forgotten: the next call asks for one");
  }

  function showTokenButton() {
    $("forget-token").hidden = !sessionStorage.getItem(TOKEN_KEY);
  }

  function say(text, isError = false) {
    $("message").textContent = text;
    $("message").classList.toggle("error", isError);
  }

  function el(tag, child, className = "", text = "") {
    const element = document.createElement(tag);
    if (className) element.className = className;
    element.append(child, text);
    return element;
  }

  function profileLink(id) {
    const link = el("a", `${id}`);
    link.href = viewUrl(id);
    return link;
  }

  function viewUrl(id) {
    return `${API}/profiles/${encodeURIComponent(id)}/view`;
  }

  function describe(value) {
    return value === null || value === undefined ? "—" : String(value);
  }

  function edgeLabel(link) {
    return `${link.operation} · ${link.created_at.slice(5, 16).replace("T", " ")}`;
  }

  // Two lines, type then value; a long value keeps both ends, where ids tend to differ.
  function nodeLabel(identifier) {
    const value = identifier.value;
    const short = value.length > 16 ? `${value.slice(0, 7)}…${value.slice(-7)}` : value;
    return `${identifier.type}\n${short}`;
  }

  function colourOf(type) {
    if (Object.hasOwn(TYPE_COLOURS, type)) return TYPE_COLOURS[type];
    let hash = 0;
    for (const char of type) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
    return OTHER_COLOURS[hash % OTHER_COLOURS.length];
  }

  cy.on("tap", "node, edge", (event) => showDetails(event.target));
  cy.on("tap", (event) => event.target === cy && showDetails(null));
  slider.addEventListener("input", showInstant);
  slider.addEventListener("change", moveInTime);
  $("search").addEventListener("submit", search);
  $("end-form").addEventListener("submit", endLink);
  $("token-form").addEventListener("submit", useToken);
  $("forget-token").addEventListener("click", forgetToken);
  showTokenButton();
  load();
})();
