/**
 * Entries baton owns inside a user's CLI config (MCP servers in config.toml or settings.json, skill folders): a
 * ledger beside them remembers the digest of what baton last wrote under each name, so that a later run can
 *  - add what its conversation needs, and leave alone what it finds identical;
 *  - replace or remove what baton wrote for another conversation (one conversation's MCP servers must not reach
 *    the next conversation that runs in the same home);
 *  - and never touch an entry the user wrote or edited: a name the user owns with other content is a conflict.
 */
import { createHash } from 'node:crypto';
import { BatonError } from '../errors.js';
import { readJsonObject, writeJsonIfChanged } from './json-config.js';

/** What becomes of one name in a config section. */
export type EntryChange<T> = { name: string; action: 'write'; value: T } | { name: string; action: 'remove' };

export function digestOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

export class ManagedEntries {
  private constructor(
    private readonly path: string,
    private readonly ledger: Record<string, Record<string, string>>,
    private readonly text: string | undefined,
  ) {}

  /** The ledger at `path` (a JSON file in the CLI's home); none yet is an empty ledger. */
  static async load(path: string): Promise<ManagedEntries> {
    const { value, text } = await readJsonObject(path, 'remove the file: baton then treats every entry it finds as the user\'s');
    const ledger: Record<string, Record<string, string>> = {};
    for (const [section, names] of Object.entries(value)) {
      if (typeof names !== 'object' || names === null) continue;
      ledger[section] = Object.fromEntries(Object.entries(names).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    }
    return new ManagedEntries(path, ledger, text);
  }

  /**
   * The changes that make `section` hold `desired` (by name), given the `current` digests found there: baton's
   * own stale entries are removed, entries the user owns are kept. A name the user owns with other content is
   * CONFIG_CONFLICT, described as `what` (e.g. "MCP server" in "~/.codex/config.toml").
   */
  reconcile<T>(
    section: string,
    current: Map<string, string>,
    desired: Map<string, T>,
    what: { kind: string; where: string },
    digest: (value: T) => string = digestOf,
  ): Array<EntryChange<T>> {
    const owned = this.ledger[section] ?? {};
    const changes: Array<EntryChange<T>> = [];
    for (const [name, value] of desired) {
      const found = current.get(name);
      const wanted = digest(value);
      if (found === wanted) continue;
      if (found !== undefined && owned[name] !== found) {
        throw new BatonError('CONFIG_CONFLICT', `${what.where} already has a ${what.kind} "${name}" that is not the conversation's`, {
          hint: `rename or remove yours, or use a fresh home for this run; baton never overwrites a ${what.kind} it did not write`,
        });
      }
      changes.push({ name, action: 'write', value });
    }
    for (const [name, written] of Object.entries(owned)) {
      // Gone already, or edited by the user since baton wrote it (then it is theirs): leave it.
      if (desired.has(name) || current.get(name) !== written) continue;
      changes.push({ name, action: 'remove' });
    }
    return changes;
  }

  /** The names baton wrote in `section` (that may still be there). */
  ownedNames(section: string): string[] {
    return Object.keys(this.ledger[section] ?? {});
  }

  /** Records that the changes were made (call once the config is written). */
  record<T>(section: string, changes: Array<EntryChange<T>>, digest: (value: T) => string = digestOf): void {
    const owned = { ...(this.ledger[section] ?? {}) };
    for (const change of changes) {
      if (change.action === 'write') owned[change.name] = digest(change.value);
      else delete owned[change.name];
    }
    this.ledger[section] = owned;
  }

  /** Writes the ledger if it changed; true if it did. */
  async save(): Promise<boolean> {
    const sections = Object.fromEntries(Object.entries(this.ledger).filter(([, names]) => Object.keys(names).length > 0));
    if (this.text === undefined && Object.keys(sections).length === 0) return false;
    return writeJsonIfChanged(this.path, sections, this.text);
  }
}

/** Digests of every entry of a config section (an object of name → entry), as {@link ManagedEntries.reconcile} takes them. */
export function entryDigests(section: unknown): Map<string, string> {
  const digests = new Map<string, string>();
  if (typeof section !== 'object' || section === null) return digests;
  for (const [name, value] of Object.entries(section)) digests.set(name, digestOf(value));
  return digests;
}

/**
 * A config section (name → entry, e.g. `mcpServers` in settings.json) with the conversation's entries merged in,
 * through the ledger's `section`: what baton wrote there for another conversation removed, the user's kept.
 * Call `ledger.save()` once the config is written.
 */
export function mergeManagedSection(
  ledger: ManagedEntries,
  section: string,
  current: unknown,
  desired: Record<string, unknown>,
  what: { kind: string; where: string },
): Record<string, unknown> {
  const entries: Record<string, unknown> = typeof current === 'object' && current !== null && !Array.isArray(current) ? { ...(current as Record<string, unknown>) } : {};
  const changes = ledger.reconcile(section, entryDigests(entries), new Map(Object.entries(desired)), what);
  for (const change of changes) {
    if (change.action === 'write') entries[change.name] = change.value;
    else delete entries[change.name];
  }
  ledger.record(section, changes);
  return entries;
}
