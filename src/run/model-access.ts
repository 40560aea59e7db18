/**
 * A run's access to the model API through a worker's model proxy (src/fleet/model-proxy/), as the runner sees
 * it: where the CLI sends its requests with which per-run token, what it used, when it must stop, and the
 * revocation that ends the token's life when the CLI has exited.
 */
import type { ModelEndpoint } from '../harness/harness.js';
import type { ModelApiId } from '../harness/ids.js';
import { harnessModelKeyVariables } from '../harness/registry.js';
import type { RunUsage } from '../store/store.js';

export interface ModelAccess {
  /** The proxy's base URL for one API, with the run's token. */
  endpoint(api: ModelApiId): ModelEndpoint;
  /** Tokens used so far (still answers after revoke()). */
  usage(): RunUsage;
  /**
   * Aborted when the run must fail, with a BatonError as its reason (TOKEN_LIMIT_EXCEEDED): the runner stops the
   * CLI and records that error.
   */
  readonly failed: AbortSignal;
  /** The token is refused from now on. Idempotent. */
  revoke(): void;
}

/**
 * The variables through which an environment gives the CLIs a model key or endpoint. Behind the proxy none of
 * them reaches a run: the harness sets the ones its CLI needs to the proxy's URL and the run's token.
 */
export const MODEL_KEY_VARIABLES: readonly string[] = harnessModelKeyVariables();
