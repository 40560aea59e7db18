/** The shapes baton requires of git values that come from manifests, imports and API bodies. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isBranchName, isFetchableRemoteUrl, isObjectId, isRefName, isRemoteName } from '../../src/workspace/git-values.js';

/** What the real git says; it has no `--end-of-options` here, so names starting with "-" are not asked. */
function gitAccepts(name: string): boolean {
  return spawnSync('git', ['check-ref-format', '--allow-onelevel', name]).status === 0;
}

const TRICKY_NAMES = [
  'main', 'feature/x', 'v1.2.0', 'refs/heads/main', 'a/b/c', 'ünïcode', 'x@y', 'a.b', 'a-b', 'with-dash-', '@a', 'a@',
  '', '@', '.hidden', 'a/.b', 'a..b', 'a.lock', 'a/b.lock/c', 'a/', '/a', 'a//b', 'a.', 'a@{1}', 'a b', 'a~1', 'a^', 'a:b',
  'a?', 'a*', 'a[b', 'a\\b', 'a\tb', 'a\nb', 'a\x7fb', 'a\x1bb', '.', '..', 'a/./b', 'lock.lock', '.lock', 'a/b.', 'HEAD',
];

describe('git values from manifests and API bodies', () => {
  it('accepts exactly the ref names `git check-ref-format --allow-onelevel` accepts', () => {
    for (const name of TRICKY_NAMES) expect(isRefName(name), JSON.stringify(name)).toBe(gitAccepts(name));
  });

  it('refuses every ref, branch and remote name that git would read as an option', () => {
    for (const name of ['-f', '--upload-pack=touch /tmp/pwned', '--output=/tmp/x', '-']) {
      expect(isRefName(name), name).toBe(false);
      expect(isBranchName(name), name).toBe(false);
      expect(isRemoteName(name), name).toBe(false);
    }
    expect(isBranchName('feature/x')).toBe(true);
    expect(isBranchName('HEAD')).toBe(false);
    expect(isRemoteName('origin')).toBe(true);
  });

  it('takes only full hex object ids (SHA-1 or SHA-256) as commits and trees', () => {
    expect(isObjectId('a'.repeat(40))).toBe(true);
    expect(isObjectId('0123456789abcdef'.repeat(4))).toBe(true);
    for (const value of ['a'.repeat(39), 'a'.repeat(41), 'A'.repeat(40), 'HEAD', 'main', `--output=/tmp/x${'a'.repeat(30)}`, `${'a'.repeat(40)}\n`, 42, undefined]) {
      expect(isObjectId(value), String(value)).toBe(false);
    }
  });

  it('refuses remote URLs that are options, ssh option hosts, transport helpers or hold control characters', () => {
    for (const url of ['https://github.com/acme/repo.git', 'ssh://git@github.com/acme/repo.git', 'git@github.com:acme/repo.git', '/srv/repo.git', 'file:///srv/repo.git', '../sibling']) {
      expect(isFetchableRemoteUrl(url), url).toBe(true);
    }
    for (const url of ['--upload-pack=touch /tmp/pwned', '-oProxyCommand=touch /tmp/pwned', 'ssh://-oProxyCommand=touch%20/tmp/pwned/x', 'ssh://git@-oProxyCommand=x/r', 'ssh://%2doProxyCommand=x/r', 'git@-oProxyCommand=x:repo', 'ext::sh -c touch% /tmp/pwned', 'fd::3', 'https://host/r\n-x', '']) {
      expect(isFetchableRemoteUrl(url), url).toBe(false);
    }
  });
});
