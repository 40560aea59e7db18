/**
 * Publishing a conversation's skills (Agent Skills: a folder with SKILL.md) into the folder where a CLI looks for
 * its user's skills, e.g. `$CLAUDE_CONFIG_DIR/skills/<name>/`. Each skill is a folder baton owns through a
 * ledger ({@link ManagedEntries}): a folder of the same name the user made is never touched (CONFIG_CONFLICT), and
 * folders baton published for another conversation are removed, so one conversation's skills stay its own.
 */
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { BatonError } from '../errors.js';
import { ManagedEntries } from '../fs/managed-entries.js';
import { PRIVATE_DIR_MODE, writePrivateFileAtomic } from '../fs/private-files.js';
import type { Skill } from '../model/agent-setup.js';

const LEDGER_SECTION = 'skills';

/** One digest for a skill's files, however they were read (sorted by path). */
function digestOfFiles(files: Array<{ path: string; executable: boolean; content: Buffer }>): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${file.path}\0${file.executable ? 'x' : '-'}\0${file.content.length}\0`).update(file.content);
  }
  return hash.digest('hex');
}

function skillFiles(skill: Skill): Array<{ path: string; executable: boolean; content: Buffer }> {
  return skill.files.map((file) => ({ path: file.path, executable: file.executable === true, content: Buffer.from(file.content, 'base64') }));
}

/** The files of a folder on disk (undefined when absent); a symlink or special file makes it nobody's to digest. */
async function digestOfFolder(folder: string): Promise<string | undefined> {
  const files: Array<{ path: string; executable: boolean; content: Buffer }> = [];
  async function walk(directory: string): Promise<boolean> {
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) {
        if (!(await walk(path))) return false;
      } else if (entry.isFile()) {
        const stats = await lstat(path);
        files.push({ path: relative(folder, path).split(sep).join('/'), executable: (stats.mode & 0o100) !== 0, content: await readFile(path) });
      } else return false;
    }
    return true;
  }
  try {
    if (!(await lstat(folder)).isDirectory()) return 'not-a-folder';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return (await walk(folder)) ? digestOfFiles(files) : 'holds-links';
}

/**
 * Makes `skillsDir` hold exactly the conversation's skills among those baton manages (the user's own skills stay).
 * `ledgerPath` is the ledger file in the CLI's home; `where` names the folder in errors.
 */
export async function publishSkills(skillsDir: string, skills: readonly Skill[], ledgerPath: string): Promise<void> {
  const ledger = await ManagedEntries.load(ledgerPath);
  const names = new Set([...skills.map((skill) => skill.name), ...ledger.ownedNames(LEDGER_SECTION)]);
  const current = new Map<string, string>();
  for (const name of names) {
    const digest = await digestOfFolder(join(skillsDir, name));
    if (digest !== undefined) current.set(name, digest);
  }
  const desired = new Map(skills.map((skill) => [skill.name, skill] as const));
  const digest = (skill: Skill): string => digestOfFiles(skillFiles(skill));
  const changes = ledger.reconcile(LEDGER_SECTION, current, desired, { kind: 'skill folder', where: skillsDir }, digest);
  for (const change of changes) {
    const folder = join(skillsDir, change.name);
    await rm(folder, { recursive: true, force: true });
    if (change.action === 'write') await writeSkill(folder, change.value);
  }
  ledger.record(LEDGER_SECTION, changes, digest);
  await ledger.save();
}

async function writeSkill(folder: string, skill: Skill): Promise<void> {
  await mkdir(folder, { recursive: true, mode: PRIVATE_DIR_MODE });
  for (const file of skillFiles(skill)) {
    const path = resolve(folder, file.path);
    // The schema allows no `..`; checked again where the bytes land.
    if (!path.startsWith(folder + sep)) throw new BatonError('SKILL_INVALID', `skill ${skill.name} names a file outside its folder: ${file.path}`, { hint: 're-create the skill from its folder with --skill' });
    await writePrivateFileAtomic(path, file.content);
    if (file.executable) await chmod(path, 0o700);
  }
}
