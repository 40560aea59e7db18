/** Skills published into a CLI's skills folder: the conversation's only, the user's never touched. */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { publishSkills } from '../../src/harness/skills.js';
import type { Skill } from '../../src/model/agent-setup.js';

const skill = (name: string, body = `---\nname: ${name}\ndescription: does ${name}\n---\nSteps.\n`): Skill => ({
  name,
  description: `does ${name}`,
  files: [
    { path: 'SKILL.md', content: Buffer.from(body).toString('base64') },
    { path: 'scripts/run.sh', executable: true, content: Buffer.from('#!/bin/sh\necho hi\n').toString('base64') },
  ],
});

describe('publishSkills', () => {
  let home: string;
  let skillsDir: string;
  let ledger: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'baton-skills-'));
    skillsDir = join(home, 'skills');
    ledger = join(home, 'baton-managed.json');
  });
  afterEach(() => rm(home, { recursive: true, force: true }));

  it('writes each skill\'s files, scripts executable, and removes them when the next conversation has none', async () => {
    await publishSkills(skillsDir, [skill('deploy')], ledger);
    expect(await readFile(join(skillsDir, 'deploy', 'SKILL.md'), 'utf8')).toContain('description: does deploy');
    expect((await stat(join(skillsDir, 'deploy', 'scripts', 'run.sh'))).mode & 0o100).not.toBe(0);
    await publishSkills(skillsDir, [skill('deploy')], ledger);
    await publishSkills(skillsDir, [skill('review')], ledger);
    expect(await readdir(skillsDir)).toEqual(['review']);
    await publishSkills(skillsDir, [], ledger);
    expect(await readdir(skillsDir)).toEqual([]);
  });

  it('never touches a skill folder the user made, and refuses to publish over it', async () => {
    await mkdir(join(skillsDir, 'mine'), { recursive: true });
    await writeFile(join(skillsDir, 'mine', 'SKILL.md'), 'my own');
    await publishSkills(skillsDir, [skill('deploy')], ledger);
    await publishSkills(skillsDir, [], ledger);
    expect(await readFile(join(skillsDir, 'mine', 'SKILL.md'), 'utf8')).toBe('my own');
    await expect(publishSkills(skillsDir, [skill('mine')], ledger)).rejects.toMatchObject({ code: 'CONFIG_CONFLICT', message: expect.stringContaining('"mine"') });
    expect(await readFile(join(skillsDir, 'mine', 'SKILL.md'), 'utf8')).toBe('my own');
  });

  it('keeps a published skill the user edited since: it is theirs now', async () => {
    await publishSkills(skillsDir, [skill('deploy')], ledger);
    await writeFile(join(skillsDir, 'deploy', 'SKILL.md'), 'edited by hand');
    await publishSkills(skillsDir, [], ledger);
    expect(await readFile(join(skillsDir, 'deploy', 'SKILL.md'), 'utf8')).toBe('edited by hand');
  });
});
