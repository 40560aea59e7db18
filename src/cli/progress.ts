/**
 * Live progress of a run, in human form, on stderr (stdout is for ids and --json). Everything in an event comes
 * from the agent (or from a server), so every field is escaped for the terminal.
 */
import type { TimedEvent } from '../run/events.js';
import { terminalLine, terminalText } from './terminal-text.js';

function firstLines(text: string, count: number): string {
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.length <= count ? lines.join('\n') : `${lines.slice(0, count).join('\n')}\n… (${lines.length - count} more lines)`;
}

const indent = (text: string): string => text.split('\n').map((line) => `    ${line}`).join('\n');

export function formatEvent(event: TimedEvent): string | undefined {
  switch (event.type) {
    case 'session.started':
      return `· session ${terminalLine(event.sessionId)}`;
    case 'prompt':
      return `\n> ${terminalText(event.text).split('\n').join('\n> ')}`;
    case 'message':
      return `\n${terminalText(event.text)}\n`;
    case 'command.started':
      return `$ ${terminalText(event.command)}`;
    case 'command.completed': {
      const status = event.exitCode !== undefined && event.exitCode !== 0 ? ` (exit ${terminalLine(String(event.exitCode))})` : '';
      return event.output.trim() === '' ? (status ? `  ${status.trim()}` : undefined) : `${indent(firstLines(terminalText(event.output), 8))}${status}`;
    }
    case 'file.changed':
      return `✎ ${event.paths.map(terminalLine).join(', ')}`;
    case 'turn.failed':
      return `✗ turn failed: ${terminalText(event.message)}`;
    case 'warning':
      return `· ${terminalText(event.message)}`;
    case 'error':
      return `! ${terminalText(event.message)}`;
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
