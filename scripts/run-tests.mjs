// Runs every compiled test file (dist/**/*.test.js) with Node's own test runner.
// `npm test` builds first (pretest). Set TEST_DATABASE_URL to run the database tests against a
// PostgreSQL server instead of embedded PGlite. Extra arguments are passed to `node --test`
// (e.g. `npm test -- --test-name-pattern=vault`); a path argument limits the run to the files
// whose path contains it.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const filters = args.filter((a) => !a.startsWith('--'));
const files = findTests(dist)
  .filter((f) => filters.length === 0 || filters.some((p) => relative(root, f).includes(p.replace(/\.ts$/, ''))))
  .sort();
if (files.length === 0) {
  console.error('no test files found under dist/ (did the build run?)');
  process.exit(1);
}
const target = process.env.TEST_DATABASE_URL ? 'PostgreSQL server (TEST_DATABASE_URL)' : 'embedded PGlite';
console.log(`running ${files.length} test files against ${target}`);
const concurrency = Math.max(2, Math.min(4, availableParallelism()));
const result = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', `--test-concurrency=${concurrency}`, ...flags, ...files],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
