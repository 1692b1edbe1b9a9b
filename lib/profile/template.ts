// Fills the profile template. Exactly two tokens are known; an unknown,
// missing or leftover token is an error, so a broken template can never
// produce a profile that silently lacks its per-VM rules.

import { HostError } from '../errors.ts';

export const templateTokens = ['PROFILE_NAME', 'VM_RULES'] as const;
export type TemplateToken = (typeof templateTokens)[number];

const tokenPattern = /###([A-Z_]+)###/g;

export function fillTemplate(template: string, values: { readonly [T in TemplateToken]: string }, templatePath = 'template'): string {
  const found = new Set([...template.matchAll(tokenPattern)].map((m) => m[1] ?? ''));
  for (const token of found) {
    if (!(templateTokens as readonly string[]).includes(token)) throw new HostError(`cannot use profile template: unknown token ###${token}###`, { path: templatePath });
  }
  for (const token of templateTokens) {
    if (!found.has(token)) throw new HostError(`cannot use profile template: token ###${token}### is missing`, { path: templatePath });
  }
  return template.replace(tokenPattern, (_match, token: TemplateToken) => values[token]);
}

/** The rules as they go inline into a profile body, indented like the template. */
export function indent(text: string, prefix = '  '): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => (line === '' ? '' : `${prefix}${line}`))
    .join('\n');
}
