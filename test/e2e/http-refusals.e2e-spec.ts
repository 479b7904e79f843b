import { envelopeProblem, expectErrorEnvelope } from '../support/envelope';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { captureLogs, CapturedLogs } from '../support/log-capture';
import { ProbeModule } from '../support/probe.module';
import { json, startTestApp, TestApp } from '../support/test-app';

const ECHO = '/api/v1/__probe/echo';
const JSON_TYPE = { 'content-type': 'application/json' };

function nested(depth: number, open: string, close: string, leaf = '1'): string {
  return `${open.repeat(depth)}${leaf}${close.repeat(depth)}`;
}

/**
 * The answers given before a controller runs: Fastify's router and body parser, and the
 * body-shape bounds checked right after parsing. Each must be an error envelope with a contract
 * code, the request id and our headers; none may be a 500.
 */
describe('HTTP refusals before the controller', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let logs: CapturedLogs;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    logs = captureLogs('info');
    t = await startTestApp(env, { logger: logs.logger, extraModules: [ProbeModule] });
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  const post = (payload: string, headers: Record<string, string> = JSON_TYPE) => t.request({ method: 'POST', url: ECHO, payload, headers });

  describe('deep bodies', () => {
    it.each([
      ['object', '{"a":', '}'],
      ['array', '[', ']'],
    ])('a 5 000-deep %s is 400 BAD_REQUEST, not a stack overflow', async (_kind, open, close) => {
      const res = await post(`{"name":"a","nested":${nested(5000, open, close)}}`);
      const body = expectErrorEnvelope(res, 400, 'BAD_REQUEST');
      expect(body.error.message).toMatch(/nested more than 16 levels/);
    });

    it('16 levels pass the bound (and meet validation); 17 do not', async () => {
      const at = (depth: number) => `{"name":"a","deep":${nested(depth - 1, '{"a":', '}')}}`;
      expectErrorEnvelope(await post(at(16)), 400, 'VALIDATION_ERROR');
      expectErrorEnvelope(await post(at(17)), 400, 'BAD_REQUEST');
    });

    it('a deep body inside the limit of a 100 kB body still answers a small 400 (50 000 levels)', async () => {
      const res = await post(`{"x":${nested(50_000, '[', ']')}}`);
      expectErrorEnvelope(res, 400, 'BAD_REQUEST');
      expect(res.body.length).toBeLessThan(400);
    });
  });

  describe('wide bodies', () => {
    const wide = (keys: number) =>
      JSON.stringify(Object.fromEntries([['name', 'a'], ...Array.from({ length: keys }, (_, i) => [`k${i}`, 1])]));

    it('9 000 members: 400 BAD_REQUEST with a small body', async () => {
      const res = await post(wide(9000));
      const body = expectErrorEnvelope(res, 400, 'BAD_REQUEST');
      expect(body.error.message).toMatch(/more than 1000 members/);
      expect(res.body.length).toBeLessThan(400);
    });

    it('an array of 5 000 elements: 400 BAD_REQUEST', async () => {
      expectErrorEnvelope(await post(JSON.stringify({ name: 'a', nested: Array.from({ length: 5000 }, () => 0) })), 400, 'BAD_REQUEST');
    });

    it('999 unknown fields (within the bound): VALIDATION_ERROR lists 20 and says how many more', async () => {
      const res = await post(wide(999));
      const body = expectErrorEnvelope(res, 400, 'VALIDATION_ERROR');
      expect(Object.keys(body.error.details)).toHaveLength(20);
      expect(body.error.message).toBe('The request is not valid; 979 more invalid field(s) not listed');
      expect(res.body.length).toBeLessThan(3000);
    });

    it('a member name over 128 characters: 400 BAD_REQUEST (names are echoed in errors)', async () => {
      expectErrorEnvelope(await post(JSON.stringify({ name: 'a', ['k'.repeat(129)]: 1 })), 400, 'BAD_REQUEST');
      const res = await post(JSON.stringify({ name: 'a', ['k'.repeat(128)]: 1 }));
      expect(expectErrorEnvelope(res, 400, 'VALIDATION_ERROR').error.details['k'.repeat(128)]).toBeDefined();
    });
  });

  describe('prototype members', () => {
    // class-transformer silently drops constructor and prototype members: they must be refused, not ignored
    it.each([
      ['{"name":"a","__proto__":{"polluted":true}}'],
      ['{"name":"a","nested":{"__proto__":{"polluted":true}}}'],
      ['{"name":"a","constructor":{"prototype":{"polluted":true}}}'],
      ['{"name":"a","nested":{"count":1,"constructor":{"prototype":{"polluted":true}}}}'],
      ['{"name":"a","constructor":"x"}'],
      ['{"name":"a","prototype":{"polluted":true}}'],
      ['{"name":"a","nested":{"count":1,"prototype":1}}'],
      ['{"name":"a","x":[{"__proto__":{"polluted":true}}]}'],
    ])('%s: 400 BAD_REQUEST, nothing polluted', async (payload) => {
      const body = expectErrorEnvelope(await post(payload), 400, 'BAD_REQUEST');
      expect(body.error.message).toBe('The request body may not contain __proto__, constructor or prototype members');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });
  });

  describe('odd text and top-level values', () => {
    it.each([['{"name":"\\ud800"}'], ['{"name":"a\\udfffb"}'], ['{"name":"a","\\ud83d":1}']])(
      'a lone surrogate (%s): 400 BAD_REQUEST (it has no UTF-8 form to store)',
      async (payload) => {
        expect(expectErrorEnvelope(await post(payload), 400, 'BAD_REQUEST').error.message).toMatch(/not valid Unicode/);
      },
    );

    it('a surrogate pair (an emoji) is text like any other', async () => {
      const res = await post('{"name":"a\\ud83d\\ude00"}');
      expect(res.statusCode).toBe(201);
      expect(json(res).data.name).toBe('a😀');
    });

    it.each([['"a string"'], ['[1,2]'], ['null'], ['42'], ['true'], ['[]']])('a top-level %s: 400 BAD_REQUEST', async (payload) => {
      expect(expectErrorEnvelope(await post(payload), 400, 'BAD_REQUEST').error.message).toMatch(/must be a JSON object/);
    });
  });

  describe("Fastify's router and body parser", () => {
    it('a path parameter over 100 characters: 414 URI_TOO_LONG envelope, with the inbound request id', async () => {
      const res = await t.request({ method: 'GET', url: `/api/v1/users/${'1'.repeat(1000)}`, headers: { 'x-request-id': 'req-414' } });
      expectErrorEnvelope(res, 414, 'URI_TOO_LONG');
      expect(res.headers['x-request-id']).toBe('req-414');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.body).not.toContain('1111111111');
      expect(logs.lines.find((l) => l.requestId === 'req-414' && l.msg === 'request completed')).toMatchObject({
        status: 414,
        route: 'unmatched',
      });
    });

    it('the OpenAPI document lists 414 on the routes with path parameters, and only there', async () => {
      const doc = json(await t.request({ method: 'GET', url: '/docs/json' }));
      expect(doc.paths['/api/v1/users/{id}'].get.responses['414'].content['application/json'].schema.$ref).toBe(
        '#/components/schemas/ErrorEnvelopeDto',
      );
      expect(doc.paths['/api/v1/accounts/{id}/deposits'].post.responses['414']).toBeDefined();
      expect(doc.paths['/api/v1/users'].get.responses['414']).toBeUndefined();
    });

    it.each([['/api/v1/users/%E0%A4%A'], ['/api/v1/users/%'], ['/api/v1/accounts/%C0%AF/transactions']])(
      'a path that does not decode (%s): 400 BAD_REQUEST envelope',
      async (url) => {
        const res = await t.request({ method: 'GET', url });
        expect(expectErrorEnvelope(res, 400, 'BAD_REQUEST').error.message).toMatch(/path is not valid/);
        expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      },
    );

    it.each([
      { label: 'no content type with a body', headers: {}, payload: '{"name":"a"}', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      {
        label: 'an invalid content type',
        headers: { 'content-type': 'application/' },
        payload: '{"name":"a"}',
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      {
        label: 'a JSON-like type',
        headers: { 'content-type': 'application/vnd.api+json' },
        payload: '{}',
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      {
        label: 'JSON with a charset',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        payload: '{"x":1}',
        status: 400,
        code: 'VALIDATION_ERROR',
      },
      { label: 'an empty JSON body', headers: JSON_TYPE, payload: '', status: 400, code: 'BAD_REQUEST' },
      { label: 'malformed JSON', headers: JSON_TYPE, payload: '{"name":', status: 400, code: 'BAD_REQUEST' },
      {
        label: 'a body over BODY_LIMIT',
        headers: JSON_TYPE,
        payload: JSON.stringify({ name: 'x'.repeat(200_000) }),
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      },
    ])('$label: $status $code', async ({ headers, payload, status, code }) => {
      expectErrorEnvelope(await t.request({ method: 'POST', url: ECHO, payload, headers }), status, code);
    });

    it('Content-Length larger than the limit is refused before reading: 413', async () => {
      const res = await t.request({ method: 'POST', url: ECHO, payload: '{}', headers: { ...JSON_TYPE, 'content-length': '99999999' } });
      expectErrorEnvelope(res, 413, 'PAYLOAD_TOO_LARGE');
    });

    it.each([['PROPFIND'], ['TRACE'], ['OPTIONS'], ['QUERY']])('%s on an API route: 404 NOT_FOUND envelope', async (method) => {
      const res = await t.request({
        method: method,
        url: '/api/v1/users',
        headers: JSON_TYPE,
        payload: method === 'TRACE' ? undefined : '{}',
      });
      expectErrorEnvelope(res, 404, 'NOT_FOUND');
    });

    it('QUERY without a content type (RFC 10008 requires one): 400 BAD_REQUEST envelope', async () => {
      expectErrorEnvelope(await t.request({ method: 'QUERY', url: '/api/v1/users' }), 400, 'BAD_REQUEST');
    });
  });

  describe('headers', () => {
    it.each([
      ['a success', '/api/v1/__probe/ok'],
      ['an error', '/api/v1/__probe/error/not-found'],
      ['an unknown route', '/api/v1/nowhere'],
      ['a health probe', '/health/live'],
    ])('%s says Cache-Control: no-store', async (_label, url) => {
      const res = await t.request({ method: 'GET', url });
      expect(envelopeProblem(res)).toBeNull();
    });

    it('the Swagger UI may be cached', async () => {
      expect((await t.request({ method: 'GET', url: '/docs' })).headers['cache-control']).toBeUndefined();
    });

    it('over plain HTTP: neither HSTS nor upgrade-insecure-requests (Swagger UI works on any http origin)', async () => {
      for (const url of ['/docs', '/api/v1/__probe/ok']) {
        const res = await t.request({ method: 'GET', url });
        expect(res.headers['strict-transport-security']).toBeUndefined();
        expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
        expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      }
    });

    it('without TRUST_PROXY a forged X-Forwarded-Proto changes nothing', async () => {
      const res = await t.request({ method: 'GET', url: '/docs', headers: { 'x-forwarded-proto': 'https' } });
      expect(res.headers['strict-transport-security']).toBeUndefined();
      expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    });
  });
});

describe('HTTP refusals behind a trusted proxy', () => {
  let env: IsolatedEnv;
  let t: TestApp;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    t = await startTestApp(env, { env: { TRUST_PROXY: 'true' } });
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  it('X-Forwarded-Proto: https from the trusted proxy: HSTS and upgrade-insecure-requests', async () => {
    const res = await t.request({ method: 'GET', url: '/docs', headers: { 'x-forwarded-proto': 'https' } });
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(res.headers['content-security-policy']).toContain('upgrade-insecure-requests');
  });

  it('X-Forwarded-Proto: http from the trusted proxy: neither', async () => {
    const res = await t.request({ method: 'GET', url: '/api/v1/nowhere', headers: { 'x-forwarded-proto': 'http' } });
    expect(res.headers['strict-transport-security']).toBeUndefined();
    expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expectErrorEnvelope(res, 404, 'NOT_FOUND');
  });
});
