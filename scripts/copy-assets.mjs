// Copies the non-TypeScript files the server needs at run time (SQL migrations) next to the
// compiled JavaScript, so dist/ is self-contained.
import { cpSync, rmSync } from 'node:fs';

const from = new URL('../src/db/migrations/', import.meta.url);
const to = new URL('../dist/src/db/migrations/', import.meta.url);
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
