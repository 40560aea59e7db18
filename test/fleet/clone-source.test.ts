import { describe, expect, it } from 'vitest';
import { assertCloneSource, cloneSourceKind } from '../../src/fleet/clone-source.js';
import { hasCredentials, withoutCredentials } from '../../src/workspace/git-url.js';

describe('which repositories a worker clones', () => {
  it('tells remote URLs from paths on the worker and from transports it never uses', () => {
    expect(['https://github.com/acme/repo.git', 'ssh://git@github.com/acme/repo.git', 'git@github.com:acme/repo.git'].map(cloneSourceKind)).toEqual(['remote', 'remote', 'remote']);
    expect(['/srv/repo', 'repo', '../../etc', 'file:///srv/repo', 'C:foo'].map(cloneSourceKind)).toEqual(['local', 'local', 'local', 'local', 'local']);
    expect(['ext::sh -c id', 'git://example.com/r', 'http://example.com/r', 'fd::3'].map(cloneSourceKind)).toEqual(['unsupported', 'unsupported', 'unsupported', 'unsupported']);
  });

  it('accepts local paths only when allowed, and URLs with credentials never', () => {
    expect(() => assertCloneSource('https://github.com/acme/repo.git', { allowLocal: false })).not.toThrow();
    expect(() => assertCloneSource('/srv/repo', { allowLocal: true })).not.toThrow();
    expect(() => assertCloneSource('/srv/repo', { allowLocal: false })).toThrow(/path on the worker/);
    expect(() => assertCloneSource('https://x:tok@github.com/a/b', { allowLocal: true })).toThrow(/credentials/);
    expect(() => assertCloneSource('ext::sh -c id', { allowLocal: true })).toThrow(/https:\/\/ or ssh:\/\//);
  });

  it('refuses a URL or ref that git would read as an option, whatever the policy', () => {
    for (const url of ['--upload-pack=touch /tmp/pwned', '-oProxyCommand=touch /tmp/pwned', 'ssh://-oProxyCommand=touch%20/tmp/pwned/x']) {
      expect(() => assertCloneSource(url, { allowLocal: true }), url).toThrow(/is not a repository URL git may clone \(it must not start with "-"/);
    }
    for (const ref of ['--upload-pack=touch /tmp/pwned', '-b', 'a..b', 'a b', 'HEAD@{1}']) {
      expect(() => assertCloneSource('https://github.com/acme/repo.git', { allowLocal: false }, ref), ref).toThrow(/workspace\.ref .+ is not a branch, tag or commit name .+git check-ref-format/);
    }
    for (const ref of ['main', 'feature/x', 'v1.2.0', 'a'.repeat(40)]) expect(() => assertCloneSource('https://github.com/acme/repo.git', { allowLocal: false }, ref)).not.toThrow();
  });

  it('keeps no credentials in a URL it stores, and a plain ssh user name as it is', () => {
    expect(hasCredentials('https://user:token@github.com/a/b.git')).toBe(true);
    expect(hasCredentials('https://ghp_token@github.com/a/b.git')).toBe(true);
    expect(hasCredentials('ssh://git@github.com/a/b.git')).toBe(false);
    expect(withoutCredentials('https://user:token@github.com/a/b.git')).toBe('https://github.com/a/b.git');
    expect(withoutCredentials('ssh://deploy:pw@host/a.git')).toBe('ssh://host/a.git');
    expect(withoutCredentials('ssh://git@github.com/a/b.git')).toBe('ssh://git@github.com/a/b.git');
    expect(withoutCredentials('git@github.com:a/b.git')).toBe('git@github.com:a/b.git');
  });
});
