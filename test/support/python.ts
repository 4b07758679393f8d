// The machine's python3, set up as a user's Python would be: our client module and (here, the
// fake) torch importable. See test/fixtures/python/README.md.
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

export function pythonEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PYTHONPATH: [join(root, 'clients/python'), join(root, 'test/fixtures/python')].join(':'),
    PYTHONDONTWRITEBYTECODE: '1',
    ...extra,
  };
}
