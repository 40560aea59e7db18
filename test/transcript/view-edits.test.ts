/** File edits in the readable view: Codex's apply_patch and Claude Code's Edit / Write / MultiEdit become diffs. */
import { describe, expect, it } from 'vitest';
import { viewClaudeSession } from '../../src/harness/claude/transcript.js';
import { viewRollout } from '../../src/harness/codex/transcript.js';
import { applyPatchEdit as patchEdit } from '../../src/transcript/apply-patch.js';
import { renderItem, textEdit } from '../../src/transcript/view.js';

const lines = (...records: unknown[]): Buffer => Buffer.from(records.map((record) => `${JSON.stringify(record)}\n`).join(''));

describe('edits in the transcript view', () => {
  it('reads a Codex apply_patch call as an edit of the files it names, with its output', () => {
    const patch = '*** Begin Patch\n*** Update File: src/a.ts\n@@\n-const a = 1;\n+const a = 2;\n*** Add File: b.txt\n+hello\n*** End Patch\n';
    const view = viewRollout(
      lines(
        { type: 'response_item', payload: { type: 'custom_tool_call', name: 'apply_patch', call_id: 'c1', input: patch } },
        { type: 'response_item', payload: { type: 'custom_tool_call_output', call_id: 'c1', output: 'Success. Updated the following files:\nM src/a.ts\nA b.txt\n' } },
      ),
    );
    expect(view.items).toEqual([
      { kind: 'edit', callId: 'c1', paths: ['src/a.ts', 'b.txt'], diff: '@@@ src/a.ts\n@@\n-const a = 1;\n+const a = 2;\n+++ b.txt\n+hello', output: expect.stringContaining('M src/a.ts') },
    ]);
  });

  it('reads Claude Code Edit and Write calls as unified diffs', () => {
    const view = viewClaudeSession(
      lines({
          type: 'assistant',
          message: {
            role: 'assistant',
            content: [
              { type: 'tool_use', id: 't1', name: 'Edit', input: { file_path: '/w/a.py', old_string: 'x = 1\ny = 2\n', new_string: 'x = 1\ny = 3\n' } },
              { type: 'tool_use', id: 't2', name: 'Write', input: { file_path: '/w/new.md', content: '# title\n' } },
            ],
          },
        }),
    );
    expect(view.items).toEqual([
      { kind: 'edit', callId: 't1', paths: ['/w/a.py'], diff: '@@@ /w/a.py\n@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n+y = 3', output: undefined },
      { kind: 'edit', callId: 't2', paths: ['/w/new.md'], diff: '@@@ /w/new.md\n@@ -0,0 +1,1 @@\n+# title', output: undefined },
    ]);
  });

  it('leaves text that is not a patch to the caller, and renders edits for the terminal', () => {
    expect(patchEdit('c', 'ls -la')).toBeUndefined();
    expect(renderItem(textEdit('t', 'f.txt', 'a\n', 'b\n'))).toBe('✎ f.txt\n    @@@ f.txt\n    @@ -1,1 +1,1 @@\n    -a\n    +b');
  });
});
