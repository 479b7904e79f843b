import { ChildProcess, spawn } from 'node:child_process';
import { Agent, IncomingMessage, request } from 'node:http';
import { AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';

/** The built server (`node dist/src/main.js`; `npm run test:e2e` builds first), run as an operator runs it. */
export const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

export interface ServerProcess {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runServer(env: Record<string, string>, cwd: string): ServerProcess {
  // only what a fresh shell would have: no DATABASE_URL, REDIS_URL or secrets from the test run
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exit };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface JsonAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: any;
}

/**
 * An HTTP client that keeps its connections open between requests, as browsers, proxies and
 * most HTTP client libraries do (a client that closes its sockets would hide a server that waits
 * for kept-alive sockets to go away).
 */
export class KeepAliveClient {
  readonly agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000, maxSockets: 64 });

  constructor(private readonly port: number) {}

  /** Open sockets, busy or idle. */
  get sockets(): number {
    const count = (group: NodeJS.ReadOnlyDict<unknown[]>) => Object.values(group).reduce((n, list) => n + (list?.length ?? 0), 0);
    return count(this.agent.sockets) + count(this.agent.freeSockets);
  }

  send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonAnswer> {
    const started = this.start(method, path, headers, body === undefined ? undefined : JSON.stringify(body));
    started.finish();
    return started.answer;
  }

  /**
   * Starts a request whose body is still arriving (the first bytes are sent now, the rest by
   * `finish()`): in flight on the server from its headers on, for as long as the test likes.
   */
  start(method: string, path: string, headers: Record<string, string>, body?: string): { answer: Promise<JsonAnswer>; finish(): void } {
    const payload = body ?? '';
    const req = request({
      host: '127.0.0.1',
      port: this.port,
      method,
      path,
      agent: this.agent,
      headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
    });
    const answer = new Promise<JsonAnswer>((resolve, reject) => {
      req.on('error', reject);
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? safeJson(text) : null }));
      });
    });
    const split = Math.min(5, payload.length);
    if (split > 0) req.write(payload.slice(0, split));
    else req.flushHeaders();
    return { answer, finish: () => void req.end(payload.slice(split)) };
  }

  /** A GET whose answer is not read until the caller resumes it (the server meets back-pressure). */
  open(path: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: this.port, path, agent: this.agent }, (res) => resolve(res.pause()));
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
