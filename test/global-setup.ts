/** The end-to-end tests run the built `baton` (dist/), exactly what `npx baton` runs: build it once first. */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}
