// The lineage as tables (issue 20): the profile's identifiers, links and merges, for people who
// would rather read than look, and for screen readers. Each table is an ARIA grid
// (https://www.w3.org/WAI/ARIA/apg/patterns/grid/): one cell in the tab order, the arrow keys,
// Home/End, Ctrl+Home/Ctrl+End and PageUp/PageDown move between cells, a header's button sorts
// by its column. The tables download as CSV, the lineage as JSON. Every value is user input: it
// reaches the page through textContent only, never as markup.

const PAGE_ROWS = 10; // PageUp/PageDown
const REVOKE_AFTER_MS = 40_000; // a download may still be reading its blob URL (FileSaver.js)

const yesNo = (flag) => (flag ? "yes" : "no");

// One entry per table: its columns and, for a record, its cells. A cell is a value shown as text
// and sorted by its type (numbers numerically, text by code unit), or {text, sort}.
const TABLES = [
  {
    name: "identifiers",
    title: "Identifiers",
    columns: ["key", "type", "value", "member", "profile", "created", "links"],
    records: (lineage) => lineage.identifiers,
    id: (identifier) => identifier.key,
    cells: (i, links) => {
      const [active, total] = links.get(i.key) || [0, 0];
      const count = { text: `${active} / ${total}`, sort: [active, total] };
      return [i.key, i.type, i.value, yesNo(i.member), i.profile_id, i.created_at, count];
    },
  },
  {
    name: "links",
    title: "Links",
    columns: [
      "id",
      "a",
      "b",
      "active",
      "operation",
      "source",
      "request",
      "item",
      "merge",
      "created",
      "ended",
      "end reason",
    ],
    records: (lineage) => lineage.links,
    id: (link) => link.id,
    cells: (l) => [
      l.id,
      l.a,
      l.b,
      yesNo(l.active),
      l.operation,
      l.source,
      l.request_id,
      l.item_index,
      l.merge_id,
      l.created_at,
      l.ended_at,
      l.end_reason,
    ],
  },
  {
    name: "merges",
    title: "Merges",
    columns: ["id", "survivor", "absorbed", "request", "at", "undone"],
    records: (lineage) => lineage.merges,
    id: (merge) => merge.id,
    cells: (m) => [m.id, m.survivor, m.absorbed, m.request_id, m.at, m.undone_at],
  },
];

// What each section remembers across calls: the sort order and the focusable cell of each table.
const memory = new WeakMap();

/**
 * Draws `lineage` (GET /v1/{ns}/profiles/{id}/lineage) into `section` as three tables, replacing
 * its children. The sort orders and the focusable cell of each table survive the next call; a
 * table that held the focus gets it back. `onSelect(key)` is called when an identifier's row is
 * activated (Enter or double-click); `filename` is the base name of the downloads.
 */
export function showTable(section, lineage, { onSelect = () => {}, filename = "lineage" } = {}) {
  const state = memory.get(section) || { sort: {}, cursor: {}, grids: [] };
  memory.set(section, state);
  const focused = state.grids.find((grid) => grid.table.contains(document.activeElement));
  state.grids.forEach(remember);
  const links = linkCounts(lineage.links || []);
  state.grids = TABLES.map((spec) => buildGrid(spec, lineage, links, state, onSelect));
  section.replaceChildren(
    actions(lineage, filename),
    ...state.grids.map((grid) => block(grid, filename)),
  );
  if (focused) state.grids.find((grid) => grid.spec === focused.spec).current.focus();
}

/**
 * The CSV text of a table (RFC 4180): a header row, then one row per record, CRLF line ends.
 * Fields holding a comma, a double quote, CR or LF are quoted, their quotes doubled.
 */
export function toCsv(columns, rows) {
  return [columns, ...rows].map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}

// Against formula injection (OWASP, "CSV Injection", https://owasp.org/www-community/attacks/
// CSV_Injection): a spreadsheet runs a cell that starts with = + - @, tab or CR as a formula, and
// a formula can fetch URLs or run commands. Every value here is user input, so such a cell is
// written with a leading apostrophe, which makes it text: the formula does not run, and the
// apostrophe shows. Those values are therefore not byte-exact in the CSV; the JSON download is.
function csvField(text) {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

// For each identifier key, [active links, all links] touching it.
function linkCounts(links) {
  const counts = new Map();
  for (const link of links) {
    for (const key of new Set([link.a, link.b])) {
      const count = counts.get(key) || [0, 0];
      count[0] += link.active ? 1 : 0;
      count[1] += 1;
      counts.set(key, count);
    }
  }
  return counts;
}

function buildGrid(spec, lineage, links, state, onSelect) {
  const rows = (spec.records(lineage) || []).map((record) => prepare(spec, record, links));
  const table = document.createElement("table");
  table.id = `table-${spec.name}`;
  table.className = "lineage-table";
  table.setAttribute("role", "grid");
  table.setAttribute("aria-readonly", "true");
  const caption = document.createElement("caption");
  caption.textContent = `${spec.title} (${rows.length})`;
  const head = document.createElement("thead");
  head.append(headerRow(spec.columns));
  const body = document.createElement("tbody");
  table.append(caption, head, body);
  const grid = { spec, table, body, rows, state, onSelect, current: null };
  order(grid);
  restore(grid);
  table.addEventListener("keydown", (event) => onKey(grid, event));
  table.addEventListener("click", (event) => onClick(grid, event));
  table.addEventListener("dblclick", (event) => onDoubleClick(grid, event));
  return grid;
}

// A record's row: its cells' texts (for the page and the CSV) and sort keys, and its <tr>.
function prepare(spec, record, links) {
  const tr = document.createElement("tr");
  const texts = [];
  const keys = [];
  for (const cell of spec.cells(record, links)) {
    const plain = cell === null || typeof cell !== "object";
    const text = plain ? (cell === null || cell === undefined ? "" : String(cell)) : cell.text;
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
    texts.push(text);
    keys.push(plain ? (text === "" ? null : cell) : cell.sort);
  }
  return { id: spec.id(record), texts, keys, tr };
}

function headerRow(columns) {
  const tr = document.createElement("tr");
  for (const name of columns) {
    const th = document.createElement("th");
    th.scope = "col";
    const button = document.createElement("button");
    button.type = "button";
    button.tabIndex = -1;
    const mark = document.createElement("span");
    mark.className = "sort-mark";
    mark.setAttribute("aria-hidden", "true"); // aria-sort says it; the name stays the column's
    button.append(name, mark);
    th.append(button);
    tr.append(th);
  }
  return tr;
}

// Puts the rows in the remembered order (the lineage's when none) and marks the sorted column.
function order(grid) {
  const sort = grid.state.sort[grid.spec.name];
  if (sort) {
    const sign = sort.descending ? -1 : 1;
    grid.rows.sort((x, y) => compare(x.keys[sort.column], y.keys[sort.column], sign));
  }
  const rows = document.createDocumentFragment();
  for (const row of grid.rows) rows.append(row.tr);
  grid.body.replaceChildren(rows);
  const headers = grid.table.tHead.rows[0].cells;
  for (const [column, th] of [...headers].entries()) {
    const sorted = sort && sort.column === column;
    if (sorted) th.setAttribute("aria-sort", sort.descending ? "descending" : "ascending");
    else th.removeAttribute("aria-sort");
    th.querySelector(".sort-mark").textContent = !sorted ? "" : sort.descending ? " ▼" : " ▲";
  }
}

// Empty cells last in either direction; ties keep the lineage's order (the sort is stable).
function compare(x, y, sign) {
  if (x === null || y === null) return (x === null) - (y === null);
  if (Array.isArray(x)) {
    const first = x.findIndex((part, at) => part !== y[at]);
    return first < 0 ? 0 : compare(x[first], y[first], sign);
  }
  if (typeof x === "number" && typeof y === "number") return sign * (x - y);
  const [a, b] = [String(x), String(y)];
  return a < b ? -sign : a > b ? sign : 0;
}

function sortBy(grid, column) {
  const name = grid.spec.name;
  const before = grid.state.sort[name];
  const descending = Boolean(before && before.column === column && !before.descending);
  grid.state.sort[name] = { column, descending };
  order(grid);
  remember(grid); // the focusable cell moved with its row
}

// The remembered focusable cell: by its row's record when it is still there, else by position.
function restore(grid) {
  const cursor = grid.state.cursor[grid.spec.name] || { id: null, row: 0, column: 0 };
  const found = cursor.id === null ? -1 : grid.rows.findIndex((row) => row.id === cursor.id);
  const row = found >= 0 ? found + 1 : cursor.id === null ? 0 : cursor.row;
  moveTo(grid, row, cursor.column, false);
}

function remember(grid) {
  const { row, column } = position(grid.current);
  const id = row > 0 ? grid.rows[row - 1].id : null;
  grid.state.cursor[grid.spec.name] = { id, row, column };
}

function position(target) {
  const cell = target.closest("th, td");
  return { row: cell.parentElement.rowIndex, column: cell.cellIndex };
}

// Makes the cell at (row, column), clamped to the table, the one in the tab order.
function moveTo(grid, row, column, focus = true) {
  const rows = grid.table.rows;
  const tr = rows[Math.max(0, Math.min(row, rows.length - 1))];
  const cell = tr.cells[Math.max(0, Math.min(column, tr.cells.length - 1))];
  const target = cell.tagName === "TH" ? cell.firstElementChild : cell;
  if (grid.current !== target) {
    if (grid.current) grid.current.tabIndex = -1;
    target.tabIndex = 0;
    grid.current = target;
  }
  if (focus) {
    target.focus();
    remember(grid);
  }
}

function onKey(grid, event) {
  if (event.altKey || !event.target.closest("th, td")) return;
  const { row, column } = position(event.target);
  const last = grid.table.rows.length - 1;
  const end = grid.spec.columns.length - 1;
  const ctrl = event.ctrlKey || event.metaKey;
  const moves = {
    ArrowRight: [row, column + 1],
    ArrowLeft: [row, column - 1],
    ArrowDown: [row + 1, column],
    ArrowUp: [row - 1, column],
    Home: ctrl ? [0, 0] : [row, 0],
    End: ctrl ? [last, end] : [row, end],
    PageDown: [row + PAGE_ROWS, column],
    PageUp: [row - PAGE_ROWS, column],
  };
  if (Object.hasOwn(moves, event.key)) {
    event.preventDefault();
    moveTo(grid, ...moves[event.key]);
  } else if (event.key === "Enter" && row > 0) {
    event.preventDefault();
    select(grid, row);
  } // Enter and Space on a header are its button's: they sort
}

function onClick(grid, event) {
  const cell = event.target.closest("th, td");
  if (!cell) return;
  const { row, column } = position(cell);
  moveTo(grid, row, column);
  if (row === 0 && event.target.closest("button")) sortBy(grid, column);
}

function onDoubleClick(grid, event) {
  const cell = event.target.closest("td");
  if (cell) select(grid, cell.parentElement.rowIndex);
}

function select(grid, row) {
  if (grid.spec.name === "identifiers") grid.onSelect(grid.rows[row - 1].id);
}

function actions(lineage, filename) {
  const bar = document.createElement("div");
  bar.className = "table-actions";
  const json = button("Download JSON");
  json.addEventListener("click", () => {
    const text = `${JSON.stringify(lineage, null, 2)}\n`;
    download(`${filename}.json`, text, "application/json");
  });
  bar.append(json);
  if (lineage.next_cursor) {
    const note = document.createElement("p");
    note.className = "table-note";
    note.textContent = `These tables, and their downloads, hold the first ${
      (lineage.identifiers || []).length
    } identifiers of the profile and their links.`;
    bar.append(note);
  }
  return bar;
}

function block(grid, filename) {
  const { name, columns } = grid.spec;
  const csv = button("Download CSV", `Download CSV of ${name}`);
  csv.addEventListener("click", () => {
    const shown = grid.rows.map((row) => row.texts); // in the order shown
    const text = toCsv(columns, shown);
    download(`${filename}-${name}.csv`, text, "text/csv;charset=utf-8");
  });
  const bar = document.createElement("div");
  bar.className = "table-header";
  bar.append(csv);
  const wrapper = document.createElement("div");
  wrapper.className = "table-block";
  wrapper.append(bar, grid.table);
  return wrapper;
}

// A label starts with the visible text, so that speech input ("click Download CSV") finds it
// (WCAG 2.5.3, label in name).
function button(text, label = "") {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  if (label) element.setAttribute("aria-label", label);
  return element;
}

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
}
