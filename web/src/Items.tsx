/** One transcript item of the shared view model (src/transcript/view.ts), as the chat shows it. */
import { memo } from 'react';
import type { ViewItem } from '../../src/transcript/view';
import { Markdown } from './Markdown';

/** Output longer than this many lines starts collapsed. */
const COLLAPSE_LINES = 12;

function lineCount(text: string): number {
  return text.replace(/\n$/, '').split('\n').length;
}

function Output({ text, exitCode }: { text: string | undefined; exitCode?: number | undefined }) {
  if (text === undefined) return <div className="muted small">(no output recorded)</div>;
  if (text.trim() === '') return <div className="muted small">(no output){exitCode ? ` · exit ${exitCode}` : ''}</div>;
  const lines = lineCount(text);
  const body = <pre className="output">{text.replace(/\n$/, '')}</pre>;
  return (
    <details open={lines <= COLLAPSE_LINES} className="output-box">
      <summary className="small muted">
        output · {lines} line{lines === 1 ? '' : 's'}
        {exitCode ? ` · exit ${exitCode}` : ''}
      </summary>
      {body}
    </details>
  );
}

function Diff({ diff }: { diff: string }) {
  return (
    <pre className="diff">
      {diff.split('\n').map((line, index) => {
        const kind = line.startsWith('@@@') ? 'file' : line.startsWith('@@') ? 'hunk' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : 'ctx';
        return (
          <span key={index} className={`diff-${kind}`}>
            {line}
            {'\n'}
          </span>
        );
      })}
    </pre>
  );
}

export const Item = memo(function Item({ item }: { item: ViewItem }) {
  switch (item.kind) {
    case 'user':
      return (
        <div className="bubble user" data-testid="user-message">
          {item.text}
        </div>
      );
    case 'assistant':
      return (
        <div className="bubble assistant" data-testid="assistant-message">
          <Markdown text={item.text} />
        </div>
      );
    case 'command':
      return (
        <div className="tool command" data-testid="command">
          <div className="tool-head">
            <span className="prompt-sign">$</span> <code>{item.command}</code>
          </div>
          <Output text={item.output} exitCode={item.exitCode} />
        </div>
      );
    case 'edit':
      return (
        <div className="tool edit" data-testid="edit">
          <div className="tool-head">✎ {item.paths.join(', ')}</div>
          <Diff diff={item.diff} />
          {item.output && <div className="muted small">{item.output.trim().split('\n')[0]}</div>}
        </div>
      );
    case 'tool':
      return (
        <div className="tool" data-testid="tool">
          <div className="tool-head">
            ⚙ {item.name} {item.input && <code className="small">{item.input.length > 300 ? `${item.input.slice(0, 300)}…` : item.input}</code>}
          </div>
          {item.output !== undefined && <Output text={item.output} />}
        </div>
      );
  }
});
