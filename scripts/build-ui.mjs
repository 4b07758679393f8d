#!/usr/bin/env node
// Builds the web UI (ui/) into dist/ui/: one script and one stylesheet bundled and minified by
// esbuild, named by their content hash (so they can be cached for good), index.html pointing at
// them, and a .gz and .br beside every file, which src/http/plugins/ui.ts serves as they are
// (@fastify/static's preCompressed: nothing is compressed per request). Run by `npm run build`,
// so `npm ci`'s postinstall leaves the UI ready like the rest of dist/.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds the UI into `outDir` (default dist/ui); answers the files the first page loads. */
export async function buildUi(outDir = join(root, 'dist', 'ui')) {
  rmSync(outDir, { recursive: true, force: true });
  const assets = join(outDir, 'assets');
  const result = await build({
    entryPoints: { app: join(root, 'ui', 'src', 'main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    // What a team's browsers run: the last few years of the evergreen ones.
    target: ['chrome111', 'firefox115', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: assets,
    entryNames: '[name]-[hash]',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => relative(assets, join(root, path)));
  const script = outputs.find((name) => name.endsWith('.js'));
  const style = outputs.find((name) => name.endsWith('.css'));
  if (script === undefined || style === undefined) throw new Error(`the UI build made no script or no stylesheet: ${outputs.join(', ')}`);
  const html = readFileSync(join(root, 'ui', 'index.html'), 'utf8')
    .replace('{{script}}', `/ui/assets/${script}`)
    .replace('{{style}}', `/ui/assets/${style}`);
  writeFileSync(join(outDir, 'index.html'), html);
  for (const file of listFiles(outDir)) {
    if (!/\.(js|css|html|map|svg)$/.test(file)) continue;
    const bytes = readFileSync(file);
    writeFileSync(`${file}.gz`, gzipSync(bytes, { level: 9 }));
    writeFileSync(`${file}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  }
  return { outDir, script: `assets/${script}`, style: `assets/${style}` };
}

function listFiles(dir) {
  return readdirSync(dir, { recursive: true })
    .map((name) => join(dir, String(name)))
    .filter((path) => statSync(path).isFile());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (out !== undefined) mkdirSync(out, { recursive: true });
  const built = await buildUi(out);
  const gz = (path) => statSync(join(built.outDir, `${path}.gz`)).size;
  console.log(`ui: ${relative(root, built.outDir)}/ (${built.script} ${gz(built.script)} B gzip, ${built.style} ${gz(built.style)} B gzip)`);
}
