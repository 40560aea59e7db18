/** Every harness baton knows. Adding a harness: a folder under src/harness, an id here, a registry line. */
export const HARNESS_IDS = ['codex', 'claude'] as const;
export type HarnessId = (typeof HARNESS_IDS)[number];

export function isHarnessId(value: string): value is HarnessId {
  return (HARNESS_IDS as readonly string[]).includes(value);
}
