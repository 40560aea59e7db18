/**
 * Argv templates: a harness's default argv, or a user's from baton's config. Placeholders are replaced inside
 * argv items — never joined into a shell string — so a prompt full of quotes or `$(…)` stays one literal item.
 */
import { BatonError } from '../errors.js';
import type { TemplateItem } from './harness.js';

export type TemplateValues = Partial<Record<'prompt' | 'sessionId' | 'model' | 'effort' | 'systemPrompt' | 'cwd', string>>;

const PLACEHOLDER = /\{(\w+)\}/g;
const KNOWN = new Set(['prompt', 'sessionId', 'model', 'effort', 'systemPrompt', 'cwd']);

function substitute(item: string, values: TemplateValues): string | undefined {
  let missing = false;
  const result = item.replace(PLACEHOLDER, (_match, name: string) => {
    if (!KNOWN.has(name)) {
      throw new BatonError('CONFIG_INVALID', `unknown placeholder {${name}} in argv template item "${item}"`, {
        hint: 'placeholders are {prompt}, {sessionId}, {model}, {effort}, {systemPrompt} and {cwd}',
      });
    }
    const value = values[name as keyof TemplateValues];
    if (value === undefined) missing = true;
    return value ?? '';
  });
  return missing ? undefined : result;
}

/**
 * Expands a template. A plain item with a placeholder that has no value is an error; a group (an array of
 * items, such as ["-m", "{model}"]) is dropped as a whole instead, which is how optional flags are written.
 */
export function expandTemplate(template: readonly TemplateItem[], values: TemplateValues): string[] {
  const argv: string[] = [];
  for (const item of template) {
    if (Array.isArray(item)) {
      const group = item.map((part) => substitute(part, values));
      if (group.every((part): part is string => part !== undefined)) argv.push(...group);
      continue;
    }
    const expanded = substitute(item, values);
    if (expanded === undefined) {
      throw new BatonError('CONFIG_INVALID', `argv template item "${item}" needs a value that this run does not have`, {
        hint: 'wrap optional flags in a group, e.g. ["-m", "{model}"], so they are left out when unset',
      });
    }
    argv.push(expanded);
  }
  return argv;
}
