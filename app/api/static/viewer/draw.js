// Draws what model.js decided with cytoscape, and lays it out without a force simulation: each
// part's nodes on a ring around its hubs (a grid when there are many), and the parts on rings
// around the one most merges touch. A force layout of 900 nodes took 20 seconds in Chromium;
// this takes milliseconds, and labels do not overlap.

const TYPE_COLOURS = {
  email: "#1f77b4",
  phone: "#2ca02c",
  uuid: "#9467bd",
  browserId: "#ff7f0e",
  customId: "#d62728",
};
const OTHER_COLOURS = ["#17becf", "#8c564b", "#e377c2", "#bcbd22", "#393b79", "#637939"];
const GAP = 60; // between parts
const LABEL = {
  "font-size": 12,
  "text-wrap": "wrap",
  "text-background-color": "#fff",
  "text-background-opacity": 0.8,
};
const STYLE = [
  {
    selector: "node",
    style: {
      ...LABEL,
      "background-color": "data(colour)",
      label: "data(label)",
      "text-valign": "bottom",
      "text-margin-y": 4,
      width: 20,
      height: 20,
    },
  },
  {
    selector: "node.part",
    style: {
      "background-color": "#f4f6f8",
      "background-opacity": 1,
      "border-width": 1,
      "border-color": "#c8d0d8",
      shape: "round-rectangle",
      "text-valign": "top",
      "text-margin-y": -4,
      color: "#345",
      padding: 16,
    },
  },
  { selector: "node.part.outside", style: { "border-style": "dashed", color: "#888" } },
  {
    selector: "node.group",
    style: {
      shape: "round-rectangle",
      width: 34,
      height: 26,
      "border-width": 2,
      "border-color": "#fff",
    },
  },
  {
    selector: "node.hub",
    style: { width: 30, height: 30, "border-width": 4, "border-color": "#111" },
  },
  {
    selector: "node.outside",
    style: {
      "background-color": "#d0d0d0",
      color: "#888",
      "border-width": 1,
      "border-color": "#999",
    },
  },
  {
    selector: "edge",
    style: {
      width: 2,
      "line-color": "#888",
      "curve-style": "bezier",
      label: "",
      "font-size": 10,
      color: "#333",
      "text-rotation": "autorotate",
      "text-background-color": "#fff",
      "text-background-opacity": 0.9,
    },
  },
  { selector: "edge.ended", style: { "line-style": "dashed", "line-color": "#bbb" } },
  { selector: "edge.merge", style: { width: 4, "line-color": "#c2185b" } },
  { selector: "edge.merge.undone", style: { "line-style": "dashed", "line-color": "#e8a2bd" } },
  { selector: "edge.folded", style: { width: "mapData(count, 2, 200, 3, 9)" } },
  { selector: "edge.hover, edge:selected, edge.path", style: { label: "data(label)" } },
  { selector: "node:selected", style: { "border-width": 4, "border-color": "#f5a623" } },
  { selector: "edge:selected", style: { "line-color": "#f5a623", width: 5 } },
  { selector: "node.path", style: { "border-width": 5, "border-color": "#00a36c" } },
  { selector: "edge.path", style: { "line-color": "#00a36c", width: 6, "z-index": 10 } },
  { selector: ".faded", style: { opacity: 0.35 } },
];

export function createGraph(container) {
  const cy = cytoscape({ container, style: STYLE, maxZoom: 1.5, minZoom: 0.05 });
  cy.on("mouseover", "edge", (event) => event.target.addClass("hover"));
  cy.on("mouseout", "edge", (event) => event.target.removeClass("hover"));
  return cy;
}

// Replaces the drawing with `elements` (model.elementsOf) and lays it out; resolves once painted.
export async function draw(cy, elements) {
  const partIds = new Set(elements.nodes.filter((n) => n.kind === "part").map((n) => n.id));
  cy.batch(() => {
    cy.elements().remove();
    cy.add([...elements.nodes.map(nodeElement), ...elements.edges.map(edgeElement)]);
  });
  layOut(cy, [...partIds]);
  cy.resize(); // the page around the graph may have changed (the token form came or went)
  cy.fit(undefined, 30);
  await new Promise((painted) => {
    cy.one("render", painted);
    cy.forceRender();
  });
}

function nodeElement(node) {
  const part = node.part ?? node.group?.part;
  const outside = part ? !part.member : node.identifier.member === false;
  const classes = [node.kind];
  if (node.hub) classes.push("hub");
  if (outside) classes.push("outside");
  return {
    group: "nodes",
    data: {
      id: node.id,
      parent: node.parent,
      label: node.label,
      colour: colourOf(node.type),
      count: node.kind === "group" ? node.group.keys.length : 1,
    },
    classes,
  };
}

function edgeElement(edge) {
  const classes = [edge.kind];
  if (edge.links.length > 1) classes.push("folded");
  if (edge.kind === "merge" && edge.links.every((l) => !l.active)) classes.push("undone");
  const data = { id: edge.id, source: edge.source, target: edge.target, label: edge.label };
  return { group: "edges", data: { ...data, count: edge.links.length }, classes };
}

function layOut(cy, partIds) {
  const boxes = new Map();
  for (const id of partIds) {
    const children = cy.getElementById(id).children();
    children.layout(children.length > RING_MAX ? grid(children) : RING).run();
    boxes.set(id, cy.getElementById(id).boundingBox({ includeLabels: true }));
  }
  const centres = arrangeParts(cy, boxes);
  for (const [id, box] of boxes) {
    const dx = centres[id].x - (box.x1 + box.x2) / 2;
    const dy = centres[id].y - (box.y1 + box.y2) / 2;
    const children = cy.getElementById(id).children();
    children.positions((node) => ({ x: node.position("x") + dx, y: node.position("y") + dy }));
  }
}

const RING_MAX = 40; // a part with more nodes (an opened group of hundreds) is laid out as a grid
const LAID_AT_ORIGIN = { boundingBox: { x1: 0, y1: 0, w: 1, h: 1 }, fit: false, animate: false };
const RING = {
  name: "concentric",
  concentric: importance,
  levelWidth: () => 1,
  minNodeSpacing: 24,
  avoidOverlap: true,
  nodeDimensionsIncludeLabels: true,
  ...LAID_AT_ORIGIN,
};

// A ring of 996 browsers is 30,000 pixels round, and fitting it to the screen shrinks every
// label to a dot: a square grid instead, its hubs in the middle cells.
function grid(children) {
  const hubs = children.filter(".hub");
  const others = children.not(".hub");
  const columns = Math.ceil(Math.sqrt(children.length * 2)); // cells are wider than high
  const rows = Math.ceil(children.length / columns);
  const centre = Math.min(others.length, Math.floor(rows / 2) * columns + Math.floor(columns / 2));
  const order = [...others.slice(0, centre), ...hubs, ...others.slice(centre)];
  const cells = new Map(
    order.map((node, i) => [node.id(), { row: Math.floor(i / columns), col: i % columns }]),
  );
  return {
    name: "grid",
    position: (node) => cells.get(node.id()),
    cols: columns,
    avoidOverlap: true,
    avoidOverlapPadding: 12,
    nodeDimensionsIncludeLabels: true,
    condense: true,
    ...LAID_AT_ORIGIN,
  };
}

// Hubs in the middle of their part, everything else on one ring around them.
function importance(node) {
  return node.hasClass("hub") ? 1 : 0;
}

// The parts as boxes on rings: the part most merges touch in the middle (the login that joined
// the others, say), then fewer and fewer, then the parts outside the profile.
function arrangeParts(cy, boxes) {
  const merges = new Map([...boxes.keys()].map((id) => [id, 0]));
  cy.edges(".merge").forEach((edge) => {
    const [a, b] = [edge.source().parent().id(), edge.target().parent().id()];
    if (a === b) return;
    merges.set(a, merges.get(a) + 1);
    merges.set(b, merges.get(b) + 1);
  });
  const parts = cytoscape({
    headless: true,
    styleEnabled: true,
    style: [{ selector: "node", style: { width: "data(w)", height: "data(h)" } }],
    elements: [...boxes].map(([id, box]) => ({
      data: {
        id,
        w: box.w + GAP,
        h: box.h + GAP,
        rank: cy.getElementById(id).hasClass("outside") ? -1 : merges.get(id),
      },
    })),
  });
  parts
    .layout({
      name: "concentric",
      concentric: (node) => node.data("rank"),
      levelWidth: () => 1,
      avoidOverlap: true,
      minNodeSpacing: GAP,
      boundingBox: { x1: 0, y1: 0, w: 1, h: 1 },
      fit: false,
      animate: false,
    })
    .run();
  const centres = {};
  parts.nodes().forEach((node) => (centres[node.id()] = { ...node.position() }));
  parts.destroy();
  return centres;
}

// Marks a path of (identifier key, link id) steps; everything else fades.
export function highlight(cy, keys, linkIds) {
  cy.batch(() => {
    cy.elements().removeClass("path faded");
    if (!keys.length) return;
    const path = cy.collection();
    keys.forEach((key) => path.merge(cy.getElementById(key)));
    linkIds.forEach((id) => path.merge(cy.getElementById(String(id))));
    path.addClass("path");
    cy.elements().not(path).not(path.ancestors()).addClass("faded");
  });
}

export function colourOf(type) {
  if (type === null) return "#777"; // a group of all of a part's identifiers, of several types
  if (Object.hasOwn(TYPE_COLOURS, type)) return TYPE_COLOURS[type];
  let hash = 0;
  for (const char of type ?? "") hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return OTHER_COLOURS[hash % OTHER_COLOURS.length];
}
