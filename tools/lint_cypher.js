#!/usr/bin/env node
// Lints .cypher files with Neo4j's own Cypher linter (@neo4j-cypher/language-support).
//
//   node tools/lint_cypher.js [FILE...]    (default: every cypher/**/*.cypher)
//
// The graph model (labels, relationship types, property keys) comes from the "// (" comment
// lines of cypher/schema.cypher, whatever files are linted. Each file declares the parameters
// it takes in a line "// params: $ns, $rows"; an undeclared or an unused one is an error.
// The package checks names against the model in reading clauses only (MATCH, WITH, RETURN);
// modelNames() below finds every label, relationship type and property key of the model
// in the package's parse tree, writes (CREATE, MERGE, SET, REMOVE) and constraints and
// indexes included, and a name the model lacks is a problem too.
// Prints "path:line:col: severity: message" per problem; exits 1 if there is any.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

const ROOT = path.resolve(__dirname, '..');
const SCHEMA = path.join(ROOT, 'cypher', 'schema.cypher');
const SEVERITY = { 1: 'error', 2: 'warning', 3: 'info', 4: 'hint' };
// the package is installed by `npm ci` in tools/cypher-lint, not beside this script
const { CypherLanguageService, lintCypherQuery, parseParameters } = createRequire(
  path.join(__dirname, 'cypher-lint', 'package.json'),
)('@neo4j-cypher/language-support');
const NOT_PRESENT =
  " is not present in the database. Make sure you didn't misspell it or that it is available" +
  ' when you run this statement in your application'; // the package's words, for the same fault

function namesAfter(prefix, text) {
  return [...text.matchAll(new RegExp(`${prefix}(\\w+)`, 'g'))].map((m) => m[1]);
}

// The model lines only: a constraint or an index is linted against them like any statement.
function readModel(schemaPath) {
  const text = fs.readFileSync(schemaPath, 'utf8');
  const modelText = text
    .split('\n')
    .filter((line) => line.startsWith('// ('))
    .join('\n');
  const keys = [...modelText.matchAll(/\{([^}]*)\}/g)].flatMap((m) => m[1].split(','));
  const unique = (names) => [...new Set(names.map((name) => name.trim()))].sort();
  return {
    labels: unique(namesAfter('\\(:', modelText)),
    relationshipTypes: unique(namesAfter('\\[:', modelText)),
    propertyKeys: unique(keys),
  };
}

// The "// params:" declarations: [{name, raw, line, col}], 0-based line and column of each.
function readDeclaredParams(text) {
  const declared = [];
  text.split('\n').forEach((line, lineNo) => {
    const decl = line.match(/^\/\/\s*params:(.*)$/); // as graph/store/cypher.py reads it
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

// The parse trees of the statements of text, the package's own. CypherLanguageService.parse is
// private in the package's TypeScript types, but the one way to its trees in this (pinned)
// version: the index exports neither parse() nor the parser.
function parseStatements(text) {
  const service = new CypherLanguageService();
  if (typeof service.parse !== 'function') {
    throw new Error('this @neo4j-cypher/language-support has no CypherLanguageService.parse');
  }
  return service.parse(text).statementsParsing;
}

// Where a label or relationship type name is: the rule holding its symbolicNameString.
const NAME_KINDS = {
  labelType: 'Label', // (n:L) of constraints and indexes, SET n:L, REMOVE n:L
  nodeLabelsIs: 'Label', // SET n IS L
  insertNodeLabelExpression: 'Label',
  multiLabelNodePattern: 'Label', // fulltext and vector indexes
  relType: 'Relationship type', // ()-[r:T]-() of constraints and indexes
  insertRelationshipLabelExpression: 'Relationship type',
  multiRelTypeRelPattern: 'Relationship type',
  labelOrRelType: 'Label or relationship type', // USING INDEX n:L(key), USING SCAN n:L
};
// a label expression (:A|B, IS A&B): what its pattern is, or either in a WHERE n:A
const LABEL_EXPRESSION_KINDS = {
  nodePattern: 'Label',
  relationshipPattern: 'Relationship type',
  comparisonExpression6: 'Label or relationship type',
};

// a map of properties in a pattern: (n {key: ...}), [r {key: ...}], INSERT (n {key: ...})
const PATTERN_MAPS = ['properties', 'insertNodePattern', 'insertRelationshipPattern'];

// Every label, relationship type and property key of the model in a statement's parse tree:
// [{kind, name, offset, line, character}] (kind 'Label', 'Relationship type', 'Label or
// relationship type' or 'Property'), and the offsets of the property keys that are none of
// the model's. A property key is the model's in a node or relationship pattern ({key: ...}),
// in SET n = {key: ...} and SET n += {key: ...}, in a constraint or an index, and where it
// is read from (or written to) a variable that is a node or a relationship: n.key, n{.key},
// SET n.key = ..., REMOVE n.key. It is not when read from anything else (row.key where row
// is an UNWIND row or a map, $map.key, list[0].key), nor as a key of a map made by the
// statement (RETURN {key: ...}, n{key: ...}, a map argument of a function).
function modelNames(statement, symbols) {
  const ruleNames = statement.parser.ruleNames;
  const rule = (ctx) => (ctx?.children ? ruleNames[ctx.ruleIndex] : undefined); // not a terminal
  const ruleChildren = (ctx) => (ctx.children ?? []).filter((c) => rule(c) !== undefined);
  const child = (ctx, name) => ruleChildren(ctx).find((c) => rule(c) === name);
  const names = [];
  const notModel = new Set();

  // the variable is a node or a relationship wherever the semantic analysis typed it, as the
  // package decides it (the symbols that it defines, a RETURN column, are not this variable)
  const isEntity = (variable) => {
    if (!variable) return false;
    const offset = variable.start.start;
    const all = symbols.filter((s) => s.references.includes(offset));
    const used = all.filter((s) => s.definitionPosition !== offset);
    const types = (used.length ? used : all).flatMap((s) => s.types);
    return types.length > 0 && types.every((t) => t === 'Node' || t === 'Relationship');
  };
  // the expression that ctx is the whole of (no operator, no postfix around it), if any
  const wholeExpression = (ctx) => {
    let node = ctx;
    while (rule(node) !== 'expression') {
      if (node.parent?.children.length !== 1) return undefined;
      node = node.parent;
    }
    return node;
  };
  // SET n = {...} and SET n += {...} (not SET n.key = {...}): the map holds properties of n
  const setsProperties = (map) => {
    const expression = wholeExpression(map.parent);
    const item = expression?.parent;
    return rule(item) === 'setItem' && rule(item.children[0]) === 'variable';
  };
  const isModelProperty = (key) => {
    const holder = key.parent;
    switch (rule(holder)) {
      case 'property': {
        const owner = holder.parent;
        switch (rule(owner)) {
          case 'postFix': {
            // expression1 postFix*: only a variable's own property, not row.a.b or f(x).key
            const [base, first] = owner.parent.children;
            const variable = base.children.length === 1 ? child(base, 'variable') : undefined;
            return first === owner && isEntity(variable);
          }
          case 'mapProjectionElement': // n{.key}
            return isEntity(child(owner.parent, 'variable'));
          case 'propertyList':
          case 'enclosedPropertyList':
            return true; // ON (n.key), REQUIRE (n.key) IS UNIQUE
          default:
            return false;
        }
      }
      case 'map': {
        const owner = holder.parent;
        if (PATTERN_MAPS.includes(rule(owner))) return true; // (n {key: ...}), [r {key: ...}]
        return rule(owner) === 'literal' && setsProperties(owner);
      }
      case 'propertyExistsPredicate':
        return isEntity(child(holder, 'variable'));
      default:
        return false; // n{key: ...}: a key of the map made
    }
  };
  const labelKind = (nameCtx) => {
    const holder = rule(nameCtx.parent);
    if (NAME_KINDS[holder]) return NAME_KINDS[holder];
    if (holder === 'labelExpression1') {
      for (let node = nameCtx.parent; node; node = node.parent) {
        const kind = LABEL_EXPRESSION_KINDS[rule(node)];
        if (kind) return kind;
      }
      return 'Label or relationship type';
    }
    // USING INDEX n:Label(key, ...): the keys (a JOIN ON list names variables)
    if (holder === 'nonEmptyNameList' && child(nameCtx.parent.parent, 'labelOrRelType'))
      return 'Property';
    return undefined;
  };
  const add = (kind, nameCtx) =>
    names.push({
      kind,
      name: nameCtx.getText().replace(/^`(.*)`$/s, '$1').replace(/``/g, '`'),
      offset: nameCtx.start.start,
      line: nameCtx.start.line - 1,
      character: nameCtx.start.column,
    });

  const walk = (ctx) => {
    const name = rule(ctx);
    if (name === 'propertyKeyName') {
      if (isModelProperty(ctx)) add('Property', ctx);
      else notModel.add(ctx.start.start);
    } else if (name === 'symbolicNameString') {
      const kind = labelKind(ctx);
      if (kind) add(kind, ctx);
    }
    ruleChildren(ctx).forEach(walk);
  };
  walk(statement.ctx);
  return { names, notModel };
}

function isKnown(kind, name, model) {
  if (kind === 'Property') return model.propertyKeys.includes(name);
  const label = model.labels.includes(name);
  const type = model.relationshipTypes.includes(name);
  return { Label: label, 'Relationship type': type }[kind] ?? (label || type);
}

function lintFile(text, model) {
  const declared = readDeclaredParams(text);
  const parameters = Object.fromEntries(declared.map((p) => [p.name, null]));
  const dbSchema = { ...model, parameters, defaultLanguage: 'CYPHER 5' };
  const { diagnostics, symbolTables } = lintCypherQuery(text, dbSchema);
  const symbols = symbolTables.flat();
  const found = parseStatements(text)
    .filter((statement) => !statement.syntaxErrors.length) // the package reports those
    .map((statement) => modelNames(statement, symbols));
  // the package takes the `a` of `row.a` in `(n {key: row.a})` for a property of n: drop it
  const notModel = new Set(found.flatMap((f) => [...f.notModel]));
  const absent = (d) => d.message.endsWith(NOT_PRESENT);
  const kept = diagnostics.filter((d) => !(absent(d) && notModel.has(d.offsets.start)));
  const problems = kept.map((d) => ({
    ...d.range.start,
    severity: d.severity,
    message: d.message,
  }));
  // every other name the model lacks, once: the package reports those of reading clauses
  const reported = new Set(kept.filter(absent).map((d) => d.offsets.start));
  for (const { kind, name, offset, line, character } of found.flatMap((f) => f.names)) {
    if (reported.has(offset) || isKnown(kind, name, model)) continue;
    const message = (kind === 'Property' ? name : `${kind} ${name}`) + NOT_PRESENT;
    problems.push({ line, character, severity: 2, message }); // a warning, as the package's
  }
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
