/**
 * The store owns SQL: no file under src/ outside src/store/ may build a query (kysely's selectFrom, insertInto,
 * updateTable, deleteFrom …), write a `sql` template, reach a store's connection (`.db`), import the database
 * drivers (kysely, pg) or the store's tables and SQL modules (store/schema.ts, store/sql/). A module that needs
 * data asks the store through a method. Comments may mention any of it; code may not. Tests may do anything.
 */
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { sourceFiles } from '../helpers/source-files.js';

const ROOT = join(import.meta.dirname, '..', '..');
const STORE = /^src\/store\//;
const QUERY_BUILDERS = new Set(['selectFrom', 'selectNoFrom', 'insertInto', 'replaceInto', 'updateTable', 'deleteFrom', 'mergeInto']);
const DRIVERS = new Set(['kysely', 'pg']);
const STORE_INTERNALS = /(^|\/)store\/(schema(\.js)?$|sql\/)/;

/** What in a file's code (comments are trivia: left out) belongs to the store's SQL, one line each. */
function sqlUses(path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, path.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: string[] = [];
  const at = (node: ts.Node, what: string): void => {
    found.push(`${path}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${what}`);
  };
  const checkSpecifier = (node: ts.Node, specifier: string): void => {
    if (DRIVERS.has(specifier)) at(node, `imports ${specifier}`);
    else if (STORE_INTERNALS.test(specifier)) at(node, `imports the store's ${specifier}`);
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      checkSpecifier(node, node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      checkSpecifier(node, node.arguments[0].text);
    } else if (ts.isPropertyAccessExpression(node) || ts.isPropertyAccessChain(node)) {
      const name = node.name.text;
      if (QUERY_BUILDERS.has(name)) at(node, `builds a query (.${name})`);
      if (name === 'db') at(node, `reaches a store's connection (${node.getText(source).slice(0, 60)})`);
    } else if (ts.isTaggedTemplateExpression(node)) {
      const tag = node.tag.getText(source);
      if (/(^|\.)sql$/.test(tag)) at(node, `writes a ${tag}\`…\` template`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the SQL boundary', () => {
  it('no file under src/ outside src/store/ queries the database, or reaches for its connection or drivers', async () => {
    const files = await sourceFiles(join(ROOT, 'src'));
    expect(files.length).toBeGreaterThan(50);
    const outside: string[] = [];
    const inside: string[] = [];
    for (const file of files) {
      const path = relative(ROOT, file).split(sep).join('/');
      (STORE.test(path) ? inside : outside).push(...sqlUses(path, await readFile(file, 'utf8')));
    }
    // The check sees SQL where it lives: a scan that found nothing anywhere would prove nothing.
    expect(inside.some((use) => use.startsWith('src/store/sql/runs.ts') && use.includes('.updateTable'))).toBe(true);
    expect(inside.some((use) => use.includes('sql`'))).toBe(true);
    expect(outside).toEqual([]);
  });

  it('flags each kind of SQL use, and leaves comments and look-alike names alone', () => {
    const uses = sqlUses(
      'src/example.ts',
      [
        "import { sql } from 'kysely';",
        "import type { Database } from '../store/schema.js';",
        "import { SqlRuns } from '../store/sql/runs.js';",
        "const pg = await import('pg');",
        'await store.db.selectFrom(`runs`).execute();',
        'await trx?.updateTable(`runs`).execute();',
        'await sql`select 1`.execute(connection);',
        '// store.db.deleteFrom("runs") in a comment is documentation',
        'const selectFromMenu = options.database; const sqlite = "baton.db";',
      ].join('\n'),
    );
    expect(uses.map((use) => use.replace(/^src\/example\.ts:\d+: /, ''))).toEqual([
      'imports kysely',
      "imports the store's ../store/schema.js",
      "imports the store's ../store/sql/runs.js",
      'imports pg',
      'builds a query (.selectFrom)',
      "reaches a store's connection (store.db)",
      'builds a query (.updateTable)',
      'writes a sql`…` template',
    ]);
  });
});
