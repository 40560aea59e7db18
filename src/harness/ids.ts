/** Every harness baton knows. Adding a harness: a folder under src/harness, an id here, a registry line. */
export const HARNESS_IDS = ['codex', 'claude', 'gemini', 'opencode'] as const;
export type HarnessId = (typeof HARNESS_IDS)[number];

export function isHarnessId(value: string): value is HarnessId {
  return (HARNESS_IDS as readonly string[]).includes(value);
}

/**
 * The model wire APIs the CLIs speak. A harness declares its own; a worker's model proxy serves each at a path
 * of its own (src/fleet/model-proxy/). A later harness speaking another API adds it here and a route there.
 */
export const MODEL_APIS = ['openai-responses', 'anthropic-messages', 'gemini-generate-content'] as const;
export type ModelApiId = (typeof MODEL_APIS)[number];
