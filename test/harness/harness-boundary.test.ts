/**
 * Adding a harness is its folder and a registry line: nothing else in baton's code may name a specific harness
 * (its id, its home variables, its package, its modules). Comments may (they are docs); code may not. Allowed
 * outside the folders: the registry (src/harness/ids.ts, registry.ts, and load.ts, which loads one harness on demand) and the scripted model server's protocol
 * files (src/testing/) and the worker's model proxy (src/fleet/model-proxy/), which speak the wire formats of the model
 * APIs (one of which, Google's Gemini API, shares its name with a harness). Tests and docs may name anything.
 */
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { listHarnesses } from '../../src/harness/registry.js';
import { sourceFiles } from '../helpers/source-files.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ALLOWED = [/^src\/harness\/[^/]+\//, /^src\/harness\/(ids|registry|load)\.ts$/, /^src\/testing\/[^/]+\.ts$/, /^src\/fleet\/model-proxy\//];

/** Every identifier, string and template piece of a file's code (comments are trivia: left out). */
function codeTokens(path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false, path.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const tokens: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) tokens.push(node.text);
    else if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node) || ts.isJsxText(node) || ts.isRegularExpressionLiteral(node)) tokens.push(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return tokens;
}

describe('the harness boundary', () => {
  it('no file outside a harness folder and the registry names a specific harness in its code', async () => {
    const marks = listHarnesses().flatMap((harness) => [
      { harness: harness.id, pattern: new RegExp(`\\b${harness.id}\\b|${harness.id}[A-Z_]`, 'i') },
      ...harness.homeVariables.map((variable) => ({ harness: harness.id, pattern: new RegExp(`\\b${variable}\\b`) })),
      { harness: harness.id, pattern: new RegExp(harness.executable.packageName.replace(/[/.]/g, '\\$&')) },
    ]);
    const files = [...(await sourceFiles(join(ROOT, 'src'))), ...(await sourceFiles(join(ROOT, 'web', 'src')))];
    expect(files.length).toBeGreaterThan(50);
    const found: string[] = [];
    for (const file of files) {
      const path = relative(ROOT, file).split(sep).join('/');
      if (ALLOWED.some((allowed) => allowed.test(path))) continue;
      const tokens = codeTokens(file, await readFile(file, 'utf8'));
      for (const token of tokens) {
        for (const mark of marks) if (mark.pattern.test(token)) found.push(`${path}: ${JSON.stringify(token.slice(0, 80))} names ${mark.harness}`);
      }
    }
    expect(found).toEqual([]);
  });
});
