/** Builds the web UI into `outDir` (default dist/ui); answers where it went and the first page's files. */
export function buildUi(outDir?: string): Promise<{ outDir: string; script: string; style: string }>;
