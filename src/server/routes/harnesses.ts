/** The agent CLIs the server runs, for a client to offer. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { listHarnesses } from '../../harness/registry.js';
import { EFFORT_LEVELS } from '../../model/agent-setup.js';
import { security, type ApiEnv } from '../auth.js';
import { errors, json } from '../responses.js';
import { HarnessList } from '../schemas.js';

export function harnessRoutes(app: OpenAPIHono<ApiEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/harnesses',
      summary: 'the agent CLIs this server runs',
      security,
      responses: { 200: json(HarnessList, 'every harness, in the order to offer them'), 401: errors[401] },
    }),
    async (c) =>
      c.json(
        {
          harnesses: listHarnesses().map((harness) => ({
            id: harness.id,
            displayName: harness.displayName,
            effortLevels: harness.setupSupport.effort ? [...EFFORT_LEVELS] : [],
            systemPrompt: harness.setupSupport.systemPrompt.supported,
          })),
        },
        200,
      ),
  );
}
