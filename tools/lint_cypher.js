#!/usr/bin/env node
// Lints .cypher files with Neo4j's own Cypher linter (@neo4j-cypher/language-support).
//
//   node tools/lint_cypher.js [FILE...]    (default: every cypher/**/*.cypher)
//
// The graph model (labels, relationship types, property keys) comes from the "// (" comment
// lines of cypher/schema.cypher, whatever files are linted. Each file declares the parameters
// it takes in a line "// params: $ns, $rows"; an undeclared or an unused one is an error.
// Prints "path:line:col: severity: message" per problem; exits 1 if there is any.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

const ROOT = path.resolve(__dirname, '..');
const SCHEMA = path.join(ROOT, 'cypher', 'schema.cypher');
const SEVERITY = { 1: 'error', 2: 'warning', 3: 'info', 4: 'hint' };
// the package is installed by `npm ci` in tools/cypher-lint, not beside this script
const { lintCypherQuery, parseParameters } = createRequire(
  path.join(__dirname, 'cypher-lint', 'package.json'),
)('@neo4j-cypher/language-support');

function namesAfter(prefix, text) {
  return [...text.matchAll(new RegExp(`${prefix}(\\w+)`, 'g'))].map((m) => m[1]);
}

// The model lines, plus any name that a constraint or an index uses (there should be none).
function readModel(schemaPath) {
  const text = fs.readFileSync(schemaPath, 'utf8');
  const model = text.split('\n').filter((line) => line.startsWith('// ('));
  const ddl = text.replace(/\/\/.*$/gm, '').match(/CREATE\s+(CONSTRAINT|INDEX)[^;]*/gi) ?? [];
  const modelText = model.join('\n');
  const ddlText = ddl.join('\n');
  const keys = [...modelText.matchAll(/\{([^}]*)\}/g)].flatMap((m) => m[1].split(','));
  const unique = (names) => [...new Set(names.map((name) => name.trim()))].sort();
  return {
    labels: unique([...namesAfter('\\(:', modelText), ...namesAfter('\\(\\w+:', ddlText)]),
    relationshipTypes: unique([
      ...namesAfter('\\[:', modelText),
      ...namesAfter('\\[\\w+:', ddlText),
    ]),
    propertyKeys: unique([...keys, ...namesAfter('\\b\\w+\\.', ddlText)]),
  };
}

// The "// params:" declarations: [{name, raw, line, col}], 0-based line and column of each.
function readDeclaredParams(text) {
  const declared = [];
  text.split('\n').forEach((line, lineNo) => {
    const decl = line.match(/^\/\/\s*params:(.*)$/); // as graph/store/cypher_files.py reads it
    if (!decl) return;
    const start = line.length - decl[1].length;
    for (const m of decl[1].matchAll(/[^,]+/g)) {
      const item = m[0].trim();
      if (!item) continue;
      const col = start + m.index + m[0].indexOf(item);
      declared.push({ name: item.replace(/^\$/, ''), raw: item, line: lineNo, col });
    }
  });
  return declared;
}

// The linter takes the key `a` of `row.a` inside a node pattern `(a {key: row.a})` for a property
// of that node; such a key read from a row (or a $map) is no property of the model: drop it.
function readsMapKey(d, text, symbols) {
  if (!/^\w+ is not present in the database/.test(d.message)) return false;
  const access = text.slice(0, d.offsets.start).match(/(\$?)(\w+)\s*\.\s*$/);
  if (!access) return false;
  if (access[1]) return true;
  const symbol = symbols.find((s) => s.references.includes(access.index));
  return Boolean(symbol) && !symbol.types.every((t) => t === 'Node' || t === 'Relationship');
}

function lintFile(text, model) {
  const declared = readDeclaredParams(text);
  const parameters = Object.fromEntries(declared.map((p) => [p.name, null]));
  const dbSchema = { ...model, parameters, defaultLanguage: 'CYPHER 5' };
  const { diagnostics, symbolTables } = lintCypherQuery(text, dbSchema);
  const problems = diagnostics
    .filter((d) => !readsMapKey(d, text, symbolTables.flat()))
    .map((d) => ({ ...d.range.start, severity: d.severity, message: d.message }));
  const used = new Set(parseParameters(text));
  for (const p of declared) {
    const error = (message) =>
      problems.push({ line: p.line, character: p.col, severity: 1, message });
    if (!/^\$\w+$/.test(p.raw)) error(`Malformed declaration "${p.raw}": expected "$name".`);
    else if (!used.has(p.name)) error(`Parameter $${p.name} is declared but never used.`);
  }
  return problems.sort((a, b) => a.line - b.line || a.character - b.character);
}

function defaultFiles() {
  const dir = path.join(ROOT, 'cypher');
  return fs
    .readdirSync(dir, { recursive: true })
    .filter((name) => name.endsWith('.cypher'))
    .sort()
    .map((name) => path.relative(process.cwd(), path.join(dir, name)));
}

function main(args) {
  const files = args.length ? args : defaultFiles();
  const model = readModel(SCHEMA);
  let count = 0;
  for (const file of files) {
    for (const p of lintFile(fs.readFileSync(file, 'utf8'), model)) {
      const where = `${file}:${p.line + 1}:${p.character + 1}`;
      console.log(`${where}: ${SEVERITY[p.severity]}: ${p.message}`);
      count += 1;
    }
  }
  console.log(`${files.length} files, ${count} problems`);
  return count ? 1 : 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  console.error(`lint_cypher: ${error.message}`); // an unreadable file or schema
  process.exitCode = 2;
}
