#!/usr/bin/env node
// CI's verdict from vitest's JSON report: prints "N passed, N failed" (then one line per failure that is not a
// test) and exits 1 unless everything ran and passed.
//
//   node scripts/ci-summary.mjs test-results/vitest.json VITEST_EXIT_STATUS
//
// A test file can fail without any failed test (verified with vitest 4.1.12): a syntax or import error leaves
// testResults[i].status "failed" with the error in `message` and no assertion results; a throwing beforeAll
// marks the file failed and its tests "skipped" (numFailedTests stays 0; the message is empty when the hook
// belongs to a describe block). Each such file counts as one failure. An error thrown outside any test after it
// passed (a timer, an unhandled rejection) is not in the report at all: vitest only exits 1, so a non-zero exit
// status with nothing else failed counts as one failure too.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/** Strips terminal colours from vitest's messages. */
function plain(text) {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

/** The gist of an error message: its first two non-empty lines ("Transform failed with 1 error: [PARSE_ERROR] …"). */
function gist(text) {
  const lines = plain(text).split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const joined = lines.slice(0, 2).join(' ');
  return joined.length > 200 ? `${joined.slice(0, 199)}…` : joined;
}

/**
 * @param {unknown} report vitest's JSON report, parsed; undefined when it is missing or unreadable
 * @param {number} exitStatus vitest's (npm test's) exit status
 * @returns {{ passed: number, failed: number, lines: string[], ok: boolean }}
 */
function summarize(report, exitStatus) {
  if (!report || typeof report !== 'object' || !Array.isArray(report.testResults)) {
    const lines = ['0 passed, 1 failed', `no test report (npm test exited with status ${exitStatus}: the typecheck or vitest itself failed; see above)`];
    return { passed: 0, failed: 1, lines, ok: false };
  }
  const passed = Number(report.numPassedTests) || 0;
  const failedTests = Number(report.numFailedTests) || 0;
  const details = [];
  let failedFiles = 0;
  const files = [...report.testResults].sort((a, b) => String(a?.name).localeCompare(String(b?.name)));
  for (const file of files) {
    if (file?.status !== 'failed') continue;
    const assertions = Array.isArray(file.assertionResults) ? file.assertionResults : [];
    if (assertions.some((assertion) => assertion?.status === 'failed')) continue; // counted among the failed tests
    failedFiles += 1;
    const reason = gist(String(file.message ?? '')) || 'a hook (beforeAll, afterAll) or describe block failed';
    details.push(`failed outside any test: ${relative(process.cwd(), String(file.name)) || file.name}: ${reason}`);
  }
  let failed = failedTests + failedFiles;
  if (exitStatus !== 0 && failed === 0) {
    failed = 1;
    details.push(`npm test exited with status ${exitStatus} though no test or file failed: an unhandled error (see "Errors" above)`);
  }
  const total = Number(report.numTotalTests) || 0;
  if (total === 0 && failed === 0) details.push('no test ran');
  const ok = failed === 0 && total > 0 && exitStatus === 0;
  return { passed, failed, lines: [`${passed} passed, ${failed} failed`, ...details], ok };
}

function main() {
  const [reportPath, statusText] = process.argv.slice(2);
  if (!reportPath || statusText === undefined || !/^\d+$/.test(statusText)) {
    console.error('usage: node scripts/ci-summary.mjs REPORT.json VITEST_EXIT_STATUS');
    process.exit(2);
  }
  let report;
  try {
    report = JSON.parse(readFileSync(reportPath, 'utf8'));
  } catch {
    report = undefined;
  }
  const summary = summarize(report, Number(statusText));
  for (const line of summary.lines) console.log(line);
  process.exit(summary.ok ? 0 : 1);
}

main();
