#!/usr/bin/env node
/**
 * Layout rules dependency-cruiser cannot express (run by `npm run depcheck`):
 * (a) SQL lives in lib/: no string or template literal that starts with a SQL or PgBouncer admin
 *     command outside lib/ (test/ is exempt: tests query what they check).
 * (b) No activity module builds another's activities: only activities/index.ts imports the
 *     create* factories of activity modules; shared operations are plain functions.
 * Usage: node .ci/layout-check.js [root]   (exit 1 and one line per finding when a rule is broken)
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

// bench/ is exempt like test/: it measures the cluster from outside with its own queries.
const SCANNED = ['common', 'activities', 'workflows', 'worker', 'client'];
const SQL_COMMANDS = [
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'ALTER',
  'CREATE',
  'DROP',
  'SET',
  'RESET',
  'SHOW',
  'CHECKPOINT',
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  'TRUNCATE',
  'GRANT',
  'REVOKE',
  'COPY',
  'WITH',
  'VACUUM',
  'ANALYZE',
  'DISCARD',
  'LISTEN',
  'NOTIFY',
  'LOCK',
  'EXPLAIN',
  'CALL',
];
const SQL_START = new RegExp(`^\\s*(${SQL_COMMANDS.join('|')})(\\s*$|\\s*;|\\s+[A-Za-z_"*$'(0-9])`);
// PgBouncer's admin commands take a database name or nothing ("PAUSE (of ...)" is prose).
const ADMIN_START =
  /^\s*(PAUSE|RESUME|RELOAD|KILL|SUSPEND|RECONNECT|DISABLE|ENABLE|WAIT_CLOSE)(\s*$|\s*;|\s+[A-Za-z_"$])/;
const FACTORY = /^create\w*Activities$/;

function tsFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Literals whose text starts like a SQL statement: [{ line, text }]. */
function sqlLiterals(fileName, source) {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const found = [];
  const visit = (node) => {
    let text;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) text = node.text;
    else if (ts.isTemplateExpression(node)) text = node.head.text;
    if (
      text !== undefined &&
      (SQL_START.test(text) || ADMIN_START.test(text)) &&
      !ts.isImportDeclaration(node.parent) &&
      !ts.isExportDeclaration(node.parent)
    ) {
      found.push({
        line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1,
        text: text.trim().split('\n')[0].slice(0, 60),
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** create* names an activity module imports from another activity module: [{ line, name, from }]. */
function factoryImports(fileName, source) {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const found = [];
  for (const stmt of sf.statements) {
    if (!ts.isImportDeclaration(stmt) || !ts.isStringLiteral(stmt.moduleSpecifier)) continue;
    const spec = stmt.moduleSpecifier.text;
    if (!spec.startsWith('.')) continue;
    const target = path.normalize(path.join(path.dirname(fileName), spec));
    if (!target.split(path.sep).includes('activities')) continue;
    const bindings = stmt.importClause?.namedBindings;
    if (!bindings || !ts.isNamedImports(bindings)) continue;
    for (const el of bindings.elements) {
      const name = (el.propertyName ?? el.name).text;
      if (FACTORY.test(name))
        found.push({ line: sf.getLineAndCharacterOfPosition(el.getStart()).line + 1, name, from: spec });
    }
  }
  return found;
}

/**
 * Findings not yet fixed, as "<file>: <first words>" lines (one finding each) in
 * .ci/layout-known.json: the check passes over them, and fails when one is fixed but still listed.
 */
function known(root) {
  const file = path.join(root, '.ci', 'layout-known.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : [];
}

function check(root, knownFindings = known(root)) {
  const problems = [];
  const seen = new Set();
  const report = (key, message) => {
    if (knownFindings.includes(key)) seen.add(key);
    else problems.push(message);
  };
  for (const top of SCANNED) {
    for (const file of tsFiles(path.join(root, top))) {
      const rel = path.relative(root, file).split(path.sep).join('/');
      const source = fs.readFileSync(file, 'utf8');
      for (const s of sqlLiterals(rel, source))
        report(
          `${rel}: ${s.text}`,
          `${rel}:${s.line}: SQL outside lib/ ("${s.text}"): move it into a function in lib/postgres/`,
        );
      if (rel.startsWith('activities/') && rel !== 'activities/index.ts') {
        for (const f of factoryImports(rel, source)) {
          report(
            `${rel}: ${f.name}`,
            `${rel}:${f.line}: imports the activity factory ${f.name} from ${f.from}: share a plain function ` +
              'instead (only activities/index.ts builds activities)',
          );
        }
      }
    }
  }
  for (const k of knownFindings)
    if (!seen.has(k)) problems.push(`.ci/layout-known.json lists "${k}", which is fixed: remove it from the list`);
  return problems;
}

module.exports = { check, sqlLiterals, factoryImports };

if (require.main === module) {
  const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
  const problems = check(root);
  for (const p of problems) console.error(p);
  if (problems.length) {
    console.error(`layout check: ${problems.length} problem(s)`);
    process.exit(1);
  }
  console.log('layout check: no SQL outside lib/, no activity factory imported by another activity module');
}
