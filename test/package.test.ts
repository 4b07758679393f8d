// What the repository promises as a package: the license it names is there in full (and in the
// Python package, which pip builds from its folder alone), and `npm ci` runs no install script
// nobody decided on; in particular not the analytics one of @scarf/scarf, which
// @stoplight/spectral-cli (a dev dependency) pulls in.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/service-process.js';

const run = promisify(execFile);
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  license: string;
  allowScripts: Record<string, boolean>;
  scarfSettings?: { enabled?: boolean };
};

describe('license', () => {
  it('is the full Apache-2.0 text that package.json and the Python package name', () => {
    expect(pkg.license).toBe('Apache-2.0');
    const license = read('LICENSE');
    expect(license.split(/\s+/).filter(Boolean).slice(0, 6)).toEqual(['Apache', 'License', 'Version', '2.0,', 'January', '2004']);
    expect(license).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    expect(license).toContain('END OF TERMS AND CONDITIONS');
    expect(license.length).toBeGreaterThan(11_000);
    expect(read('clients/python/LICENSE')).toBe(license);
    const pyproject = read('clients/python/pyproject.toml');
    expect(pyproject).toContain('license = { text = "Apache-2.0" }');
    expect(pyproject).toMatch(/^\[tool\.setuptools\]\n(?:#.*\n)*license-files = \["LICENSE"\]$/m);
  });
});

describe('install scripts', () => {
  it('keeps Scarf analytics off: denied to npm, and opted out for any npm that would run it anyway', () => {
    expect(pkg.allowScripts['@scarf/scarf']).toBe(false);
    // Scarf's report.js reads the root package.json and stops on this (userHasOptedOut).
    expect(pkg.scarfSettings?.enabled).toBe(false);
    expect(read('node_modules/@scarf/scarf/report.js')).toContain('rootPackage.scarfSettings.enabled === false');
  });

  it('decides on every install script in the installed tree', async () => {
    const { stdout } = await run('npm', ['query', ':attr(scripts, [preinstall]), :attr(scripts, [install]), :attr(scripts, [postinstall])'], { cwd: ROOT });
    const withScripts = (JSON.parse(stdout) as Array<{ name: string }>).map((p) => p.name).filter((name) => name !== 'convert-config-registry');
    // The list is what the check is about: if it is empty, the query found nothing and proves nothing.
    expect(withScripts).toContain('@scarf/scarf');
    for (const name of withScripts) expect(Object.keys(pkg.allowScripts), `${name} has an install script`).toContain(name);
    // npm's own account: nothing installed whose script is not approved or denied.
    const review = await run('npm', ['install-scripts', 'ls', '--json'], { cwd: ROOT });
    expect(JSON.parse(review.stdout)).toEqual({ allowScripts: [] });
  });
});
