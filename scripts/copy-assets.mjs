// Copies the non-TypeScript files the server needs at run time (SQL migrations, the common-password
// list) next to the compiled JavaScript, so dist/ is self-contained.
import { cpSync, rmSync } from 'node:fs';

const ASSET_DIRS = ['src/db/migrations/', 'src/identity/data/'];

for (const dir of ASSET_DIRS) {
  const from = new URL(`../${dir}`, import.meta.url);
  const to = new URL(`../dist/${dir}`, import.meta.url);
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}
