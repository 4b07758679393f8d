import { api, seg } from './api.js';
import type { Config } from './types.js';

/**
 * Rolls `name` back to `version`, only over `latest` (If-Match: the version the page showed as
 * the latest); answers the sentence the page announces.
 */
export async function rollback(name: string, version: number, latest: number): Promise<string> {
  const answer = await api<Config>(`/v1/configs/${seg(name)}/versions/${version}/rollback`, { method: 'POST', ifMatch: `"${latest}"` });
  return answer.data.version === latest
    ? `Version ${latest} already equals version ${version}: nothing to roll back.`
    : `Rolled back: version ${answer.data.version} now equals version ${version}.`;
}
