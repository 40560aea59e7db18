// Loaded with `--import` (in NODE_OPTIONS, through bin/baton) into a `baton run` being profiled: records, in milliseconds since the process
// started, when this hook ran (node bootstrap done), when baton spawned the agent CLI, when the CLI's stdio
// closed and when baton exited, and writes them as JSON to $BATON_BENCH_MARKS. Plain JavaScript so that node
// loads it without tsx. Children do not inherit it: it takes itself out of NODE_OPTIONS.
// Times are on node's clock, which starts after the launcher's sh: the wall time minus `exit` ("outside") has it.
import childProcess from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const out = process.env.BATON_BENCH_MARKS;
delete process.env.BATON_BENCH_MARKS;
const options = (process.env.NODE_OPTIONS ?? '').split(' ').filter((option) => option !== '' && !option.includes('spawn-marks.mjs'));
if (options.length > 0) process.env.NODE_OPTIONS = options.join(' ');
else delete process.env.NODE_OPTIONS;
const marks = { loaded: performance.now(), spawns: [], exit: undefined };
const original = childProcess.spawn;
childProcess.spawn = function spawn(...args) {
  const child = original.apply(this, args);
  // The argv too: in its sandbox baton starts the CLI through bubblewrap (`bwrap … -- <cli> …`).
  const entry = { file: String(args[0]), argv: Array.isArray(args[1]) ? args[1].map(String) : [], at: performance.now(), closed: undefined };
  marks.spawns.push(entry);
  child.once('close', () => {
    entry.closed = performance.now();
  });
  return child;
};
// ES modules that imported `spawn` by name see the wrapper too.
syncBuiltinESMExports();
process.once('exit', () => {
  marks.exit = performance.now();
  if (out) writeFileSync(out, JSON.stringify(marks));
});
