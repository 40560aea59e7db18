import { parse } from 'smol-toml';

/**
 * The format-preserving TOML editor, loaded on first use: it is most of the Codex harness's code (~230 KB), and a
 * `baton run` in a home whose config.toml baton merged before needs none of it (see config.ts).
 */
export type Toml = typeof import('@decimalturn/toml-patch');

let loading: Promise<Toml> | undefined;

export function loadToml(): Promise<Toml> {
  loading ??= import('@decimalturn/toml-patch');
  return loading;
}

/**
 * config.toml read, not edited (the provider a home runs under, the variables its providers read keys from): with
 * smol-toml, whose parser is a few KB, not the editor — the preflight reads the provider before every Codex launch.
 * Throws on a file that is not TOML, as the editor's parse does.
 */
export function readToml(text: string): unknown {
  return parse(text);
}
