/** Live progress of a run, in human form, on stderr (stdout is for ids and --json). */
import type { TimedEvent } from '../run/events.js';

function firstLines(text: string, count: number): string {
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.length <= count ? lines.join('\n') : `${lines.slice(0, count).join('\n')}\n… (${lines.length - count} more lines)`;
}

const indent = (text: string): string => text.split('\n').map((line) => `    ${line}`).join('\n');

export function formatEvent(event: TimedEvent): string | undefined {
  switch (event.type) {
    case 'session.started':
      return `· session ${event.sessionId}`;
    case 'message':
      return `\n${event.text}\n`;
    case 'command.started':
      return `$ ${event.command}`;
    case 'command.completed': {
      const status = event.exitCode !== undefined && event.exitCode !== 0 ? ` (exit ${event.exitCode})` : '';
      return event.output.trim() === '' ? (status ? `  ${status.trim()}` : undefined) : `${indent(firstLines(event.output, 8))}${status}`;
    }
    case 'file.changed':
      return `✎ ${event.paths.join(', ')}`;
    case 'turn.failed':
      return `✗ turn failed: ${event.message}`;
    case 'warning':
      return `· ${event.message}`;
    case 'error':
      return `! ${event.message}`;
    default:
      return undefined;
  }
}

export function progressPrinter(stream: NodeJS.WritableStream = process.stderr): (event: TimedEvent) => void {
  return (event) => {
    const line = formatEvent(event);
    if (line !== undefined) stream.write(`${line}\n`);
  };
}
