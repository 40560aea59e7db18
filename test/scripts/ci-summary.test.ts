/**
 * scripts/ci-summary.mjs, CI's verdict: a test file that fails without a failed test (it does not load, or its
 * beforeAll throws) is a failure, never "N passed, 0 failed". Fed crafted reports in vitest 4's JSON shape, and
 * once the report of a real vitest run over broken files.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const repository = fileURLToPath(new URL('../..', import.meta.url));
const script = join(repository, 'scripts', 'ci-summary.mjs');

let scratch: string;
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'baton-ci-summary-'));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

type Status = 'passed' | 'failed' | 'skipped';
interface FileResult { name: string; status: 'passed' | 'failed'; message?: string; tests: Status[] }

/** A report as vitest 4.1's JSON reporter writes it (only the fields that matter, computed the way it does). */
function report(files: FileResult[]): unknown {
  const tests = files.flatMap((file) => file.tests);
  return {
    numTotalTestSuites: files.length,
    numPassedTestSuites: files.filter((file) => file.status === 'passed').length,
    numFailedTestSuites: files.filter((file) => file.status === 'failed').length,
    numPendingTestSuites: 0,
    numTotalTests: tests.length,
    numPassedTests: tests.filter((status) => status === 'passed').length,
    numFailedTests: tests.filter((status) => status === 'failed').length,
    numPendingTests: tests.filter((status) => status === 'skipped').length,
    numTodoTests: 0,
    success: files.every((file) => file.status === 'passed') && tests.length > 0,
    testResults: files.map((file) => ({
      name: file.name,
      status: file.status,
      message: file.message ?? '',
      startTime: 0,
      endTime: 0,
      assertionResults: file.tests.map((status, index) => ({ title: `test ${index}`, fullName: `test ${index}`, ancestorTitles: [], status, failureMessages: [], meta: {}, tags: [] })),
    })),
  };
}

function summarize(reportPath: string, vitestStatus: number): { stdout: string; status: number | null } {
  const result = spawnSync(process.execPath, [script, reportPath, String(vitestStatus)], { cwd: scratch, encoding: 'utf8' });
  return { stdout: result.stdout, status: result.status };
}

async function summarizeReport(content: unknown, vitestStatus: number): Promise<{ stdout: string; status: number | null }> {
  const path = join(scratch, 'vitest.json');
  await writeFile(path, JSON.stringify(content));
  return summarize(path, vitestStatus);
}

describe('ci-summary', () => {
  it('all passed: "N passed, 0 failed" and exit 0', async () => {
    const result = await summarizeReport(report([{ name: join(scratch, 'a.test.ts'), status: 'passed', tests: ['passed', 'passed', 'skipped'] }]), 0);
    expect(result).toEqual({ stdout: '2 passed, 0 failed\n', status: 0 });
  });

  it('counts failed tests', async () => {
    const result = await summarizeReport(report([
      { name: join(scratch, 'a.test.ts'), status: 'failed', tests: ['passed', 'failed', 'failed'] },
      { name: join(scratch, 'b.test.ts'), status: 'passed', tests: ['passed'] },
    ]), 1);
    expect(result).toEqual({ stdout: '2 passed, 2 failed\n', status: 1 });
  });

  it('counts a file that did not load, naming it and the error', async () => {
    const result = await summarizeReport(report([
      { name: join(scratch, 'ok.test.ts'), status: 'passed', tests: ['passed', 'passed', 'passed'] },
      { name: join(scratch, 'broken.test.ts'), status: 'failed', message: 'Transform failed with 1 error:\n\n\u001b[31m[PARSE_ERROR] \u001b[0mUnexpected token\n   ╭─[ broken.test.ts:2:31 ]', tests: [] },
    ]), 1);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('3 passed, 1 failed\nfailed outside any test: broken.test.ts: Transform failed with 1 error: [PARSE_ERROR] Unexpected token\n');
  });

  it('counts a file whose beforeAll threw though its tests only show as skipped', async () => {
    const result = await summarizeReport(report([
      { name: join(scratch, 'hook.test.ts'), status: 'failed', message: 'database did not start', tests: ['skipped', 'skipped'] },
      { name: join(scratch, 'nested.test.ts'), status: 'failed', tests: ['skipped', 'passed'] },
    ]), 1);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe([
      '1 passed, 2 failed',
      'failed outside any test: hook.test.ts: database did not start',
      'failed outside any test: nested.test.ts: a hook (beforeAll, afterAll) or describe block failed',
      '',
    ].join('\n'));
  });

  it('a failing vitest status with a clean report (an unhandled error) is one failure', async () => {
    const result = await summarizeReport(report([{ name: join(scratch, 'a.test.ts'), status: 'passed', tests: ['passed'] }]), 1);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^1 passed, 1 failed\nnpm test exited with status 1 though no test or file failed/);
  });

  it('no test at all, or no report, fails', async () => {
    expect(await summarizeReport(report([]), 0)).toEqual({ stdout: '0 passed, 0 failed\nno test ran\n', status: 1 });
    const missing = summarize(join(scratch, 'absent.json'), 1);
    expect(missing.status).toBe(1);
    expect(missing.stdout).toMatch(/^0 passed, 1 failed\nno test report \(npm test exited with status 1/);
    await writeFile(join(scratch, 'truncated.json'), '{"numTotalTests": 3, "testRes');
    expect(summarize(join(scratch, 'truncated.json'), 0).stdout).toMatch(/^0 passed, 1 failed\n/);
  });

  it('the report of a real vitest run over a file with a syntax error and one whose beforeAll throws', async () => {
    const project = join(scratch, 'project');
    await mkdir(join(project, 't'), { recursive: true });
    await symlink(join(repository, 'node_modules'), join(project, 'node_modules'));
    await writeFile(join(project, 'vitest.config.mjs'), "export default { test: { include: ['t/**/*.test.ts'] } };\n");
    await writeFile(join(project, 't', 'ok.test.ts'), "import { expect, it } from 'vitest';\nit('passes', () => expect(1).toBe(1));\n");
    await writeFile(join(project, 't', 'syntax.test.ts'), "import { it } from 'vitest';\nit('never runs', () => { const x = ; });\n");
    await writeFile(join(project, 't', 'hook.test.ts'), "import { beforeAll, expect, it } from 'vitest';\nbeforeAll(() => { throw new Error('setup broke'); });\nit('skipped', () => expect(1).toBe(1));\n");
    // The child vitest must not think it runs inside this one.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST') && name !== 'NODE_OPTIONS'));
    const vitest = spawnSync(process.execPath, [join(repository, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=json', '--outputFile.json=report.json'], { cwd: project, env, encoding: 'utf8' });
    expect(vitest.status, vitest.stderr).toBe(1);

    const result = summarize(join(project, 'report.json'), vitest.status!);

    expect(result.status).toBe(1);
    expect(result.stdout).toBe([
      '1 passed, 2 failed',
      'failed outside any test: project/t/hook.test.ts: setup broke',
      'failed outside any test: project/t/syntax.test.ts: Transform failed with 1 error: [PARSE_ERROR] Unexpected token',
      '',
    ].join('\n'));
  });
});
