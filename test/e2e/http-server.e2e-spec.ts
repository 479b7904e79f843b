import type { AddressInfo } from 'node:net';
import { envelopeProblem } from '../support/envelope';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { captureLogs, CapturedLogs } from '../support/log-capture';
import { RawAnswer, RawClient } from '../support/raw-http';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/** The app listening on a real socket, as main.ts runs it. */
async function listening(env: IsolatedEnv, vars: Record<string, string>, logs?: CapturedLogs): Promise<{ t: TestApp; port: number }> {
  const t = await startTestApp(env, { env: vars, logger: logs?.logger });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  return { t, port: (t.app.getHttpServer().address() as AddressInfo).port };
}

function expectEnvelope(answer: RawAnswer, status: number, code: string): void {
  expect({ status: answer.statusCode, code: JSON.parse(answer.body).error?.code, problem: envelopeProblem(answer) }).toEqual({
    status,
    code,
    problem: null,
  });
}

const REGISTER_HEAD = (length: number) =>
  `POST /api/v1/auth/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

describe('HTTP server: request, keep-alive and client errors on a real socket', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let port: number;
  let logs: CapturedLogs;
  const clients: RawClient[] = [];

  const open = async () => {
    const client = await RawClient.open(port);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    env = await createIsolatedEnv();
    logs = captureLogs('info');
    ({ t, port } = await listening(env, { HTTP_REQUEST_TIMEOUT: '1', HTTP_KEEP_ALIVE_TIMEOUT: '1' }, logs));
  });

  afterEach(() => clients.splice(0).forEach((c) => c.destroy()));

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  it('a body sent slowly is cut off at HTTP_REQUEST_TIMEOUT: 408 REQUEST_TIMEOUT envelope, connection closed, nothing done', async () => {
    const email = 'slow-body@example.com';
    const body = JSON.stringify({ email, password: 'password-123', name: 'Slow' });
    const client = await open();
    const started = Date.now();
    client.write(REGISTER_HEAD(body.length));
    let sent = 0;
    // one byte every 100 ms: never idle, never complete within the bound
    const trickle = setInterval(() => client.write(body[sent++] ?? ''), 100);
    try {
      await client.untilClosed(10_000);
    } finally {
      clearInterval(trickle);
    }
    expect(client.closedAt - started).toBeGreaterThanOrEqual(1000);
    expect(sent).toBeLessThan(body.length);
    const [answer] = await client.untilAnswers(1, 1000);
    expectEnvelope(answer!, 408, 'REQUEST_TIMEOUT');
    expect(answer!.headers.connection).toBe('close');
    const login = await t.request({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: 'password-123' } });
    expect(login.statusCode).toBe(401);
    const line = logs.lines.find((l) => l.requestId === answer!.headers['x-request-id']);
    expect(line).toMatchObject({ msg: 'request completed', status: 408, route: 'unparsed' });
  });

  it('headers that never end are cut off too: 408', async () => {
    const client = await open();
    client.write('GET /health/live HTTP/1.1\r\nHost: localhost\r\n');
    const trickle = setInterval(() => client.write('X-A: b\r\n'), 100);
    try {
      await client.untilClosed(10_000);
    } finally {
      clearInterval(trickle);
    }
    expectEnvelope((await client.untilAnswers(1, 1000))[0]!, 408, 'REQUEST_TIMEOUT');
  });

  it('an idle kept-alive connection is closed after HTTP_KEEP_ALIVE_TIMEOUT', async () => {
    const client = await open();
    client.write('GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const [answer] = await client.untilAnswers(1);
    expect(answer!.statusCode).toBe(200);
    expect(answer!.headers['keep-alive']).toBe('timeout=1');
    await client.untilClosed(10_000);
    // both times as the socket's events saw them (a poll noticing late would shorten the idle time measured); the
    // margin is for this process being slow to see the answer arrive: a connection closed at once measures ~0
    expect(client.closedAt - client.lastDataAt).toBeGreaterThanOrEqual(700);
  });

  it.each([
    { label: 'a request line that is not HTTP', raw: 'HELLO\r\n\r\n', status: 400, code: 'BAD_REQUEST' },
    { label: 'an unknown method', raw: 'FROB /api/v1/users HTTP/1.1\r\nHost: x\r\n\r\n', status: 400, code: 'BAD_REQUEST' },
    {
      label: 'Content-Length that is not a number',
      raw: `${REGISTER_HEAD(0).replace('Content-Length: 0', 'Content-Length: abc')}{}`,
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      label: 'both Transfer-Encoding and Content-Length',
      raw: 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      label: 'a header with a bad character',
      raw: 'GET /api/v1/users HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n',
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      label: 'headers over 16 kB',
      raw: `GET /api/v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-${'a'.repeat(20_000)}\r\n\r\n`,
      status: 431,
      code: 'HEADERS_TOO_LARGE',
    },
    {
      label: 'a URL over 16 kB',
      raw: `GET /api/v1/users?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      status: 431,
      code: 'HEADERS_TOO_LARGE',
    },
  ])('$label: $status $code envelope, connection closed', async ({ raw, status, code }) => {
    const client = await open();
    client.write(raw);
    const [answer] = await client.untilAnswers(1);
    expectEnvelope(answer!, status, code);
    expect(answer!.headers['x-content-type-options']).toBe('nosniff');
    await client.untilClosed();
    expect(logs.text()).not.toContain('secret-aaaa');
  });

  it('Expect: something other than 100-continue is answered like any request (not a bare 417)', async () => {
    const client = await open();
    client.write('GET /api/v1/nowhere HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n');
    expectEnvelope((await client.untilAnswers(1))[0]!, 404, 'NOT_FOUND');
  });
});

describe('HTTP server: idle connections', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    ({ t, port } = await listening(env, { HTTP_REQUEST_TIMEOUT: '30', HTTP_CONNECTION_TIMEOUT: '1' }));
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  it('a connection with no traffic is closed after HTTP_CONNECTION_TIMEOUT, well before the request timeout', async () => {
    const client = await RawClient.open(port);
    const started = Date.now();
    client.write('GET /health/live HTTP/1.1\r\n');
    await client.untilClosed(10_000);
    expect(client.closedAt - started).toBeGreaterThanOrEqual(900);
    expect(client.text).toBe('');
  });
});

describe('HTTP server: shutting down', () => {
  let env: IsolatedEnv;

  beforeAll(async () => {
    env = await createIsolatedEnv();
  });

  afterAll(async () => {
    await env?.destroy();
  });

  it('a request that arrives while the server closes: 503 SERVICE_UNAVAILABLE envelope with Connection: close', async () => {
    const { t, port } = await listening(env, {});
    const client = await RawClient.open(port);
    // a request under way is not idle, so closing waits for it instead of dropping the socket
    client.write('GET /health/live HTTP/1.1\r\nHost: x\r\n');
    const closed = t.close();
    await waitFor(() => !t.app.getHttpServer().listening, 10_000, 10);
    client.write('\r\n');
    const [answer] = await client.untilAnswers(1);
    expectEnvelope(answer!, 503, 'SERVICE_UNAVAILABLE');
    expect(answer!.headers.connection).toBe('close');
    await closed;
    await client.untilClosed();
  });

  it('a request in flight when the server starts closing is answered with Connection: close, so the close does not wait for the keep-alive timeout', async () => {
    const { t, port } = await listening(env, { HTTP_KEEP_ALIVE_TIMEOUT: '600' });
    const client = await RawClient.open(port);
    const body = JSON.stringify({ email: 'nobody@example.com', password: 'password-123' });
    // Node answers 100 Continue as it hands the request to Fastify, which routes it (onRequest) at once;
    // the body follows once the close has started
    client.write(REGISTER_HEAD(body.length).replace('register', 'login').replace('\r\n\r\n', '\r\nExpect: 100-continue\r\n\r\n'));
    await waitFor(() => client.text.startsWith('HTTP/1.1 100 Continue'), 10_000, 10);
    let done = false;
    const closed = t.close().then(() => (done = true));
    await waitFor(() => !t.app.getHttpServer().listening, 10_000, 10);
    client.write(body);
    const [, answer] = await client.untilAnswers(2);
    expect(answer!.statusCode).toBe(401);
    expect(answer!.headers.connection).toBe('close');
    await client.untilClosed(10_000);
    await waitFor(() => done, 10_000, 20);
    await closed;
  });
});
