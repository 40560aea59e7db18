/** The worker's options for the model proxy's upstreams: one per model API, kept free of imports (the CLI loads it at start). */
import type { ModelApiId } from '../../harness/ids.js';

/** Each API's worker option for its upstream (`key`: commander's name for it), and the provider's name in messages. */
export const UPSTREAMS: Record<ModelApiId, { flag: string; key: string; provider: string; description: string }> = {
  'openai-responses': {
    flag: '--upstream-openai',
    key: 'upstreamOpenai',
    provider: 'OpenAI',
    description: 'where the model proxy sends OpenAI requests (default $OPENAI_BASE_URL, else https://api.openai.com/v1); key: $OPENAI_API_KEY',
  },
  'anthropic-messages': {
    flag: '--upstream-anthropic',
    key: 'upstreamAnthropic',
    provider: 'Anthropic',
    description: 'where the model proxy sends Anthropic requests (default $ANTHROPIC_BASE_URL, else https://api.anthropic.com); key: $ANTHROPIC_API_KEY or $ANTHROPIC_AUTH_TOKEN',
  },
  'gemini-generate-content': {
    flag: '--upstream-gemini',
    key: 'upstreamGemini',
    provider: 'Gemini',
    description: 'where the model proxy sends Gemini API requests (default $GOOGLE_GEMINI_BASE_URL, else https://generativelanguage.googleapis.com); key: $GEMINI_API_KEY or $GOOGLE_API_KEY',
  },
};

/** The worker's upstream options, one per model API. */
export const UPSTREAM_OPTIONS = (Object.entries(UPSTREAMS) as Array<[ModelApiId, (typeof UPSTREAMS)[ModelApiId]]>).map(([api, upstream]) => ({ api, ...upstream }));

/** The provider behind an API, for messages. */
export function providerName(api: ModelApiId): string {
  return UPSTREAMS[api].provider;
}
