/** The apply_patch edit format (Codex's, also OpenCode's apply_patch tool) in the readable view. */
import type { ViewItem } from './view.js';

/**
 * Codex's apply_patch input (`*** Begin Patch`, `*** Update File: path`, `+`/`-`/` ` lines …) as an edit item;
 * undefined when the text is not such a patch.
 */
export function applyPatchEdit(callId: string | undefined, patch: string): Extract<ViewItem, { kind: 'edit' }> | undefined {
  if (!patch.includes('*** Begin Patch')) return undefined;
  const paths: string[] = [];
  const diff: string[] = [];
  for (const line of patch.split('\n')) {
    const header = /^\*\*\* (Add|Update|Delete) File: (.+)$/.exec(line);
    const moved = /^\*\*\* Move to: (.+)$/.exec(line);
    if (header) {
      paths.push(header[2]!);
      diff.push(`${header[1] === 'Add' ? '+++' : header[1] === 'Delete' ? '---' : '@@@'} ${header[2]}`);
    } else if (moved) {
      diff.push(`→ ${moved[1]}`);
    } else if (!line.startsWith('*** ')) diff.push(line);
  }
  return { kind: 'edit', callId, paths, diff: diff.join('\n').replace(/\n+$/, ''), output: undefined };
}
