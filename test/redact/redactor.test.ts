import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCredentialName, secretsInCredentialFile, secretsInEnvironment } from '../../src/redact/known-secrets.js';
import { createRedactor, noRedaction, SHAPE_RULES } from '../../src/redact/redactor.js';
import { SHAPE_RULES as PRESET_SHAPE_RULES } from '../../src/redact/secret-shapes.js';

// Fake credentials in the real shapes (none of them works anywhere).
const FAKE = {
  github: `ghp_${'Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2'}`,
  aws: 'AKIAZ7Q4M2N8P5R3T6W9',
  slack: 'xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx',
  anthropic: `sk-ant-api03-${'Zq9'.repeat(31)}AA`,
  openai: `sk-proj-${'a1B2c3D4e5'.repeat(7)}a1B2T3BlbkFJ${'x9Y8z7W6v5'.repeat(7)}x9Y8`,
  jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  pem: `-----BEGIN RSA PRIVATE KEY-----\n${'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwMbRvI0MBZhpF\n'.repeat(4)}-----END RSA PRIVATE KEY-----`,
};
const PLANTED = 'planted-Key-7f3a9c2e41b8d6f0';

const redactor = createRedactor(secretsInEnvironment({ OPENAI_API_KEY: PLANTED, PATH: '/usr/bin:/bin', HOME: '/root', SSH_AUTH_SOCK: '/tmp/ssh-x/agent.1', GH_TOKEN: 'short' }));
const jsonl = (...records: unknown[]): Buffer => Buffer.from(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
const redacted = async (...records: unknown[]): Promise<string> => (await redactor.redactLines(jsonl(...records))).toString();

/** Every fragment of `secret` this long: none may survive redaction. */
function fragments(secret: string, length = 20): string[] {
  return Array.from({ length: Math.max(0, secret.length - length + 1) }, (_, index) => secret.slice(index, index + length));
}

describe('which variables are credentials', () => {
  it.each(['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GH_TOKEN', 'GITHUB_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'PGPASSWORD', 'DB_PASSWORD', 'NPM_AUTH', 'BATON_MASTER_KEY', 'X-Api-Key', 'client_secret', 'primaryApiKey'])('%s is', (name) => {
    expect(isCredentialName(name)).toBe(true);
  });
  it.each(['PATH', 'HOME', 'SSH_AUTH_SOCK', 'GIT_ASKPASS', 'GOOGLE_APPLICATION_CREDENTIALS_FILE', 'input_tokens', 'tokenizer', 'token_count', 'PWD', 'KEYBOARD'])('%s is not', (name) => {
    expect(isCredentialName(name)).toBe(false);
  });

  it('takes long values of credential variables, never short ones, paths or numbers', () => {
    const env = { OPENAI_API_KEY: PLANTED, GH_TOKEN: 'short', PORT_TOKEN: '12345678901', SSH_AUTH_SOCK: '/tmp/agent', PATH: '/usr/bin', KEY_DIR_TOKEN: '/var/lib/x' };
    expect(secretsInEnvironment(env)).toEqual([{ name: 'OPENAI_API_KEY', value: PLANTED }]);
  });

  it('takes the tokens of a credentials file by their field names', () => {
    const auth = { OPENAI_API_KEY: 'sk-from-auth-json-1234', auth_mode: 'apikey', tokens: { access_token: 'access-0123456789', refresh_token: 'refresh-0123456789', account_id: 'account-0123456789' } };
    expect(secretsInCredentialFile('auth.json', auth).map((secret) => secret.name)).toEqual(['auth.json:OPENAI_API_KEY', 'auth.json:tokens.access_token', 'auth.json:tokens.refresh_token']);
  });
});

describe('the redactor', () => {
  it('records the shape rules the preset it loads names (spelled out so that a redactor is made without loading it)', () => {
    expect(SHAPE_RULES).toBe(PRESET_SHAPE_RULES);
  });

  it('replaces a known value wherever it is, as is or JSON-escaped inside a JSON string', async () => {
    const toolOutput = JSON.stringify({ output: `OPENAI_API_KEY=${PLANTED}\n`, metadata: { exit_code: 0 } });
    const out = await redacted({ type: 'response_item', payload: { type: 'function_call_output', call_id: 'c1', output: toolOutput } }, { type: 'message', text: `the key is ${PLANTED}.` });
    expect(out).not.toContain(PLANTED);
    expect(out).toContain('[REDACTED:$OPENAI_API_KEY]');
    for (const line of out.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    const first = JSON.parse(out.split('\n')[0]!) as { payload: { output: string } };
    expect(JSON.parse(first.payload.output)).toEqual({ output: 'OPENAI_API_KEY=[REDACTED:$OPENAI_API_KEY]\n', metadata: { exit_code: 0 } });
  });

  it.each(Object.entries(FAKE))('finds a %s credential by its shape, inside a JSON string and after an escape', async (kind, secret) => {
    const out = await redacted({ type: 'tool_result', content: `cat creds\n${secret}\nend` }, { type: 'message', content: [{ type: 'text', text: `here: ${secret}` }] });
    for (const fragment of fragments(secret.replace(/\n/g, '\\n'))) expect(out, kind).not.toContain(fragment);
    for (const line of out.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    expect(out).toMatch(/\[REDACTED:[^\]]+\]/);
  });

  it('redacts the values of credential assignments (what `cat .env` prints) and of Authorization headers', async () => {
    const env = 'STRIPE_SECRET_KEY=rk_live_51Habcdefghijklmnop\nDATABASE_PASSWORD="correct horse"\nexport SERVICE_TOKEN=svc-0123456789abcdef\nDEBUG=true\n';
    const out = await redacted({ type: 'tool_result', content: env }, { type: 'tool_result', content: 'curl -H "Authorization: Bearer abcdefghijklmnop0123456789"' });
    expect(out).not.toContain('rk_live_51Habcdefghijklmnop');
    expect(out).not.toContain('svc-0123456789abcdef');
    expect(out).not.toContain('abcdefghijklmnop0123456789');
    expect(out).toContain('DEBUG=true');
    expect(out).toContain('STRIPE_SECRET_KEY=[REDACTED:$STRIPE_SECRET_KEY]');
  });

  it('redacts a quoted value whole, spaces included, also quoted inside a JSON string inside a JSON string', async () => {
    const config = JSON.stringify({ password: 'correct horse battery', apiKey: 'not-a-real-key-42' });
    const out = await redacted({ type: 'tool_result', content: `DATABASE_PASSWORD="correct horse"\n${config}` }, { text: "secret: 'it is a long secret'" });
    for (const phrase of ['correct horse', 'battery', 'not-a-real-key-42', 'it is a long secret']) expect(out).not.toContain(phrase);
    expect(out).toContain('DATABASE_PASSWORD=\\"[REDACTED:$DATABASE_PASSWORD]\\"');
    for (const line of out.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('leaves code that assigns to credential-like names as it is (expressions, identifiers, references, types)', async () => {
    const code = [
      'const cacheKey = keyFor(url, options);',
      '    tokenStart = position;',
      'self.api_key = api_key',
      'const apiKey = process.env.OPENAI_API_KEY;',
      'API_KEY = os.environ["API_KEY"]',
      'privateKey: crypto.KeyObject,',
      'token = jwt.sign(payload, signingSecret)',
      'password: PasswordPolicy',
      'export const SECRET_NAME = ${SECRET_NAME}',
      'if (authorization === expectedHeader) {',
      '    lastSignificantToken = "punctuation";',
    ].join('\n');
    const out = await redacted({ type: 'function_call_output', output: code }, { type: 'text', text: code });
    expect(out).not.toContain('[REDACTED');
  });

  it('still redacts unquoted literals in code and config (digits, symbols), and anything written NAME=value', async () => {
    const out = await redacted({ output: 'password: hunter2hunter2\nSESSION_TOKEN=correcthorsebattery\nauth_token = a9f3-77c1-k2' });
    for (const value of ['hunter2hunter2', 'correcthorsebattery', 'a9f3-77c1-k2']) expect(out).not.toContain(value);
  });

  it('redacts URLs with passwords', async () => {
    const out = await redacted({ command: 'git clone https://bob:s3cr3t-passw0rd@git.example.com/repo.git' });
    expect(out).not.toContain('s3cr3t-passw0rd');
  });

  it('cannot be switched off by the text it reads (secretlint-disable comments)', async () => {
    const out = await redacted({ text: `// secretlint-disable\n${FAKE.github}\n// secretlint-enable` }, { text: `${FAKE.github} // secretlint-disable-line` });
    expect(out).not.toContain(FAKE.github);
  });

  it('keeps every byte of lines without a secret, text or not', async () => {
    const clean = Buffer.concat([
      jsonl({ type: 'session_meta', payload: { id: '01a21a00-e515-7ec1-a52c-23e5cb77e528', cwd: '/work', usage: { input_tokens: 123456789, output_tokens: 42 } } }),
      Buffer.from('{"spaced" :  1.50 , "unicode":"\\u00e9 é 🎉"}\n'),
      Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x0a]),
      Buffer.from('not json at all, and no newline at the end'),
    ]);
    const out = await redactor.redactLines(clean);
    expect(out.equals(clean)).toBe(true);
  });

  it('redacts a line that is not UTF-8 without touching its other bytes', async () => {
    const line = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(` key=${PLANTED} `), Buffer.from([0xc3, 0x28, 0x0a])]);
    const out = await redactor.redactLines(line);
    expect(out.includes(Buffer.from(PLANTED))).toBe(false);
    expect(out.subarray(0, 2).equals(Buffer.from([0xff, 0xfe]))).toBe(true);
    expect(out.subarray(-3).equals(Buffer.from([0xc3, 0x28, 0x0a]))).toBe(true);
  });

  it('leaves nothing behind in the process after a scan (secretlint 12 profiles every call unless switched off)', async () => {
    await redactor.redactLines(jsonl({ text: FAKE.github }, { text: 'nothing here' }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(performance.getEntriesByType('mark').filter((mark) => mark.name.startsWith('@core>'))).toEqual([]);
  });

  it('changes nothing in real Codex and Claude Code transcripts that hold no secret', async () => {
    const fixtures = join(import.meta.dirname, '..', 'fixtures');
    const found: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.name.endsWith('.jsonl')) found.push(path);
      }
    };
    await walk(fixtures);
    expect(found.length).toBeGreaterThan(15);
    for (const path of found) {
      const content = await readFile(path);
      expect((await redactor.redactLines(content)).equals(content), path).toBe(true);
    }
  });

  it('redacts event data and text, leaving keys, numbers and structure', async () => {
    expect(await redactor.redactData({ type: 'command.completed', command: 'cat .env', exitCode: 0, output: `OPENAI_API_KEY=${PLANTED}`, nested: [{ text: FAKE.github }] })).toEqual({
      type: 'command.completed',
      command: 'cat .env',
      exitCode: 0,
      output: 'OPENAI_API_KEY=[REDACTED:$OPENAI_API_KEY]',
      nested: [{ text: '[REDACTED:github]' }],
    });
    expect(await redactor.redactText(`deploy with ${FAKE.aws}`)).toBe('deploy with [REDACTED:aws]');
  });

  it('records what ran; --no-redact keeps bytes and says so', async () => {
    expect(redactor.record).toEqual({ kind: 'on', rules: expect.stringContaining('@secretlint/secretlint-rule-preset-recommend@12.0.0'), variables: ['OPENAI_API_KEY'] });
    const bytes = jsonl({ text: PLANTED });
    expect(await noRedaction.redactLines(bytes)).toBe(bytes);
    expect(noRedaction.record).toEqual({ kind: 'off' });
  });

  // A shape is a credential only with a boundary on each side (`sk-…x9Y8` followed by `0` is not an OpenAI key);
  // a known value is one wherever it is.
  const secretArbitrary = fc.oneof(fc.constant(PLANTED), fc.constantFrom(...Object.values(FAKE)).map((secret) => ` ${secret} `));
  const textArbitrary = fc.array(fc.oneof(fc.string({ maxLength: 30 }), secretArbitrary, fc.constantFrom('\n', '\\', '"', 'KEY=', ' Bearer ', 'é', '\u0000')), { maxLength: 8 }).map((parts) => parts.join(''));
  const lineArbitrary = fc.oneof(
    textArbitrary.map((text) => JSON.stringify({ type: 'tool_result', content: text })),
    textArbitrary.map((text) => JSON.stringify({ payload: { output: JSON.stringify({ output: text }) } })),
    textArbitrary.map((text) => text.replace(/\n/g, ' ')),
  );

  it('is per line, deterministic and idempotent; JSON lines stay JSON; no planted secret survives (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(lineArbitrary, { minLength: 1, maxLength: 6 }), async (lines) => {
        const whole = Buffer.from(lines.map((line) => `${line}\n`).join(''));
        const once = await redactor.redactLines(whole);
        const oneByOne = Buffer.concat(await Promise.all(lines.map((line) => redactor.redactLines(Buffer.from(`${line}\n`)))));
        expect(once.equals(oneByOne)).toBe(true);
        expect((await redactor.redactLines(once)).equals(once)).toBe(true);
        const out = once.toString().split('\n').slice(0, -1);
        expect(out).toHaveLength(lines.length);
        out.forEach((line, index) => {
          let wasJson = true;
          try {
            JSON.parse(lines[index]!);
          } catch {
            wasJson = false;
          }
          if (wasJson) expect(() => JSON.parse(line)).not.toThrow();
        });
        for (const secret of [PLANTED, FAKE.github, FAKE.aws, FAKE.anthropic, FAKE.slack, FAKE.openai, FAKE.jwt]) expect(once.includes(Buffer.from(secret))).toBe(false);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 200), ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) },
    );
  }, 120_000);
});
