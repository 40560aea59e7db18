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
