import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// Build step (`npm run build`, after tsc and compile-validators): the functions as one ES
// module graph in dist/bundle/, which package.json's `main` points at. A cold start then
// reads a few files instead of some forty of postload's own modules and pino's thirty: in
// `npm run bench` that was most of what postload's cold start spent beyond the bare handler's
// (about 60 ms of wall clock and 85 ms of CPU before the server listened).
//
// Kept outside the bundle, loaded from node_modules as before:
// - the Google Cloud libraries, which read their protos from their own folders at run time;
// - raw-body, which the framework's body-parser loads anyway (one copy, not two).
//
// The chunks sit in dist/bundle/, one folder deep like tsc's dist/<folder>/ output, so the
// paths the code builds from import.meta.url (../../schemas/, ../generated/) hold in both.
// pino is bundled: postload logs through pino.destination, never through a pino transport
// (a worker thread that would look for pino's files beside the bundle).

const DIST = new URL('../', import.meta.url);
const OUT = new URL('bundle/', DIST);

rmSync(OUT, { recursive: true, force: true });
await build({
  entryPoints: [fileURLToPath(new URL('index.js', DIST))],
  outdir: fileURLToPath(OUT),
  bundle: true,
  // Each function's handler stays a chunk of its own, imported on demand (functions/index.ts).
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@google-cloud/*', 'raw-body'],
  // The CommonJS libraries inside the bundle call require(); an ES module has none.
  banner: { js: "import { createRequire as postloadCreateRequire } from 'node:module';\nconst require = postloadCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
