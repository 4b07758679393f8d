// The Python package as a user installs it: `pip install ./clients/python` into a venv of the
// Python that has real PyTorch (Debian's python3-torch is built for /usr/bin/python3; the pyenv
// python3 first on PATH has no torch). Offline: --no-index, and --no-build-isolation so pip uses
// the setuptools already installed (python3-setuptools). Each test file makes its own venv (a
// fraction of a second, plus ~5 s of pip): nothing is shared between files running in parallel.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

/** The interpreter with real PyTorch; REGISTRY_TEST_PYTHON overrides it for other machines. */
export const PYTHON = process.env.REGISTRY_TEST_PYTHON ?? '/usr/bin/python3';

/** A user's own package of custom modules (my_pkg, real torch modules), for the README example. */
export const PYTHON_FIXTURES = join(root, 'test/fixtures/python');

export interface PythonVenv {
  /** The venv's folder; `${dir}/bin` holds python and the convert-config-registry script. */
  dir: string;
  python: string;
  bin: string;
  remove(): Promise<void>;
}

async function step(what: string, file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await run(file, args, { timeout: 180_000, env: env ?? process.env });
    return stdout;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${what} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/**
 * A fresh venv (system site packages: torch and pytest come from Debian) with the package
 * installed from a copy of clients/python, so pip's in-tree build leaves the checkout clean.
 * Fails, rather than skips, when the interpreter has no real PyTorch.
 */
export async function installPythonPackage(): Promise<PythonVenv> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-python-'));
  const venv = join(dir, 'venv');
  const source = join(dir, 'src');
  try {
    await cp(join(root, 'clients/python'), source, {
      recursive: true,
      filter: (path) => !/(^|\/)(build|__pycache__|[^/]*\.egg-info)$/.test(path),
    });
    await step(`${PYTHON} -m venv`, PYTHON, ['-m', 'venv', '--without-pip', '--system-site-packages', venv]);
    const python = join(venv, 'bin', 'python');
    const torch = await step(
      `real PyTorch for ${PYTHON} (apt-get install python3-torch)`,
      python,
      ['-c', 'import torch, torch.ao.quantization.quantize_fx; print(torch.__version__)'],
    );
    if (!/^\d+\.\d+/.test(torch.trim())) throw new Error(`${PYTHON} has no real PyTorch (torch.__version__ = ${torch})`);
    // The system pip (python3-pip), run by the venv's python, installs into the venv.
    await step('pip install ./clients/python', python, ['-m', 'pip', 'install', '--quiet', '--no-build-isolation', '--no-index', source], {
      ...process.env,
      PIP_DISABLE_PIP_VERSION_CHECK: '1',
    });
    return { dir: venv, python, bin: join(venv, 'bin'), remove: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The environment a user's shell would have with the venv active and my_pkg importable. */
export function pythonEnvironment(venv: PythonVenv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${venv.bin}:${extra.PATH ?? process.env.PATH ?? ''}`,
    VIRTUAL_ENV: venv.dir,
    PYTHONPATH: PYTHON_FIXTURES,
    PYTHONDONTWRITEBYTECODE: '1',
    ...Object.fromEntries(Object.entries(extra).filter(([key]) => key !== 'PATH')),
  };
}
