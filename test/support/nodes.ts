import { spawn, type ChildProcess } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { COMMAND_TIMEOUT_MS, bin } from './cli.js';

/** An HTTP answer, reduced to what tests look at. */
export interface Answer {
  status: number;
  contentType: string;
  /** Parsed JSON when the answer is JSON, otherwise the text (or `{}` when empty). */
  body: Record<string, unknown>;
  text: string;
}

/** Options of one API request. */
export interface RequestOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * One Strongroom API node as tests talk to it: a `serve` process over HTTP, or an app built in
 * this process and called with `inject`. Scenarios written against this run on both.
 */
export interface ApiNode {
  readonly name: string;
  request(method: string, path: string, opts?: RequestOptions): Promise<Answer>;
}

function parseBody(text: string, name: string, method: string, path: string, status: number): Record<string, unknown> {
  if (text === '') return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${name}: ${method} ${path} answered ${status} with a body that is not JSON: ${text.slice(0, 500)}`);
  }
}

function headersOf(opts: RequestOptions): Record<string, string> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  return headers;
}

/** A node reached over HTTP at `baseUrl` (e.g. `http://127.0.0.1:8400`). */
export function httpNode(name: string, baseUrl: string): ApiNode {
  return {
    name,
    async request(method, path, opts = {}) {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: headersOf(opts),
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      });
      const text = await res.text();
      return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, body: parseBody(text, name, method, path, res.status) };
    },
  };
}

/** A node built in this process: requests go through `app.inject` (no port). */
export function injectNode(name: string, app: FastifyInstance): ApiNode {
  return {
    name,
    async request(method, path, opts = {}) {
      const res = await app.inject({
        method: method as 'GET',
        url: path,
        headers: headersOf(opts),
        ...(opts.body === undefined ? {} : { payload: JSON.stringify(opts.body) }),
      });
      const text = res.body;
      return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text, body: parseBody(text, name, method, path, res.statusCode) };
    },
  };
}

/** A `strongroom serve` process listening on a port the OS chose. */
export interface ServerNode extends ApiNode {
  readonly url: string;
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then SIGKILL if it has not exited in time; resolves once it has exited. */
  stop(): Promise<void>;
}

const LISTENING = /^Strongroom \S+ listening on (http:\/\/127\.0\.0\.1:\d+) \(database: .+\)$/m;

/** Every server started here and not yet stopped: killed when this process ends, however it ends. */
const running = new Set<ChildProcess>();
let cleanupInstalled = false;

function killRunning(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** A test process stopped by a signal (a runner timeout, ^C) would otherwise leave its servers running. */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.once('exit', killRunning);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killRunning();
      process.kill(process.pid, signal);
    });
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts `strongroom serve --port 0` with exactly `env` (build it with `cleanEnv`), in `cwd`,
 * and waits for the line that says where it listens. Its output is kept for failure messages.
 */
export async function startServerNode(name: string, env: NodeJS.ProcessEnv, cwd: string): Promise<ServerNode> {
  installCleanup();
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--host', '127.0.0.1'], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));

  const url = await new Promise<string>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.stdout.off('data', check);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    const fail = (why: string) => {
      done();
      child.kill('SIGKILL');
      reject(new Error(`${name}: serve ${why}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    };
    const check = () => {
      const m = LISTENING.exec(stdout);
      if (m) {
        done();
        resolve(m[1] as string);
      }
    };
    // Let the pipes drain first, so the failure message shows everything the process said.
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => setImmediate(() => fail(`exited (${code ?? signal}) before listening`));
    const onError = (err: Error) => fail(`could not be started: ${err.message}`);
    const timer = setTimeout(() => fail(`printed no listening line within ${COMMAND_TIMEOUT_MS} ms`), COMMAND_TIMEOUT_MS);
    child.stdout.on('data', check);
    child.once('exit', onExit);
    child.once('error', onError);
  });

  const http = httpNode(name, url);
  return {
    name,
    url,
    child,
    request: http.request,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop() {
      const done = exited(child);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        await done;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Starts several servers at once. Every one that started is added to `into` even when another
 * failed (so the caller's cleanup stops it); then the first failure, if any, is thrown.
 */
export async function startServerNodes(
  into: ServerNode[],
  starts: readonly { name: string; env: NodeJS.ProcessEnv; cwd: string }[],
): Promise<void> {
  const results = await Promise.allSettled(starts.map((s) => startServerNode(s.name, s.env, s.cwd)));
  for (const r of results) if (r.status === 'fulfilled') into.push(r.value);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** What the servers wrote to stderr, for a failure message (the tail of each). */
export function describeServers(servers: readonly ServerNode[], maxChars = 4000): string {
  return servers.map((s) => `--- ${s.name} (${s.url}) stderr:\n${s.stderr().slice(-maxChars) || '(nothing)'}`).join('\n');
}
