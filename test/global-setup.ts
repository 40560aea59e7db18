/** The end-to-end tests run the built `baton` (dist/; `npx baton` runs it through bin/baton): build it once first. */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}
