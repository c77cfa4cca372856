import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Compiled to dist/test/support/: the repository root is three levels up. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** The `strongroom` command as installed. */
export const bin = join(repoRoot, 'bin', 'strongroom.js');
/** How long a command may take before a test gives up on it (a hang guard, not a speed check). */
export const COMMAND_TIMEOUT_MS = 90_000;

/** The environment with every Strongroom and database setting removed, plus the given ones. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (
      name.startsWith('STRONGROOM_') ||
      name.startsWith('DATABASE_') ||
      ['PORT', 'HOST', 'LOG_LEVEL', 'NODE_TEST_CONTEXT', 'NODE_OPTIONS'].includes(name)
    ) {
      delete env[name];
    }
  }
  return { ...env, ...extra };
}

/** How a finished command ended. */
export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A result, for assertion messages. */
export function describeResult(r: Result): string {
  return `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** Runs `strongroom <args>` to completion in `cwd`; rejects if it had to be killed. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== null) reject(new Error(`strongroom ${args.join(' ')} was killed by ${signal}\n${describeResult({ code, stdout, stderr })}`));
      else resolve({ code, stdout, stderr });
    });
  });
}
