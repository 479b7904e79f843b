import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { captureLogs, CapturedLogs } from '../support/log-capture';
import { ProbeModule } from '../support/probe.module';
import { json, startTestApp, TestApp } from '../support/test-app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('HTTP core: envelope, request ids, errors, logs', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let logs: CapturedLogs;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    logs = captureLogs('info');
    t = await startTestApp(env, { logger: logs.logger, extraModules: [ProbeModule], env: { BODY_LIMIT: '1024' } });
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  describe('envelope', () => {
    it('wraps a success as {data, meta} with the request id and timestamp', async () => {
      const res = await t.request({ method: 'GET', url: '/api/v1/__probe/ok' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      const body = json(res);
      expect(Object.keys(body).sort()).toEqual(['data', 'meta']);
      expect(body.data).toEqual({ hello: 'world' });
      expect(body.meta.requestId).toBe(res.headers['x-request-id']);
      expect(body.meta.timestamp).toMatch(ISO);
    });

    it('adds meta.pagination for offset pages', async () => {
      const body = json(await t.request({ method: 'GET', url: '/api/v1/__probe/offset' }));
      expect(body.data).toEqual([{ n: 1 }, { n: 2 }]);
      expect(body.meta.pagination).toEqual({ page: 2, pageSize: 2, total: 5, totalPages: 3 });
    });

    it('adds meta.cursor for cursor pages', async () => {
      const body = json(await t.request({ method: 'GET', url: '/api/v1/__probe/cursor' }));
      expect(body.meta.cursor).toEqual({ next: 'opaque', limit: 1 });
    });

    it('sends no body with 204', async () => {
      const res = await t.request({ method: 'POST', url: '/api/v1/__probe/empty' });
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');
    });

    it('envelopes the health routes too', async () => {
      const body = json(await t.request({ method: 'GET', url: '/health/live' }));
      expect(body.data).toEqual({ status: 'ok' });
      expect(body.meta.requestId).toMatch(UUID);
    });
  });

  describe('request ids', () => {
    it('keeps a valid inbound X-Request-Id', async () => {
      const res = await t.request({ method: 'GET', url: '/api/v1/__probe/ok', headers: { 'x-request-id': 'abc.DEF_1:2-3' } });
      expect(res.headers['x-request-id']).toBe('abc.DEF_1:2-3');
      expect(json(res).meta.requestId).toBe('abc.DEF_1:2-3');
    });

    it.each([['has spaces'], ['x'.repeat(129)], ['semi;colon'], ['']])('replaces an invalid one (%#) with a UUID', async (bad) => {
      const res = await t.request({ method: 'GET', url: '/api/v1/__probe/ok', headers: { 'x-request-id': bad } });
      expect(res.headers['x-request-id']).toMatch(UUID);
      expect(json(res).meta.requestId).toBe(res.headers['x-request-id']);
    });

    it('puts the request id in errors too', async () => {
      const res = await t.request({ method: 'GET', url: '/api/v1/nowhere', headers: { 'x-request-id': 'req-404' } });
      expect(res.headers['x-request-id']).toBe('req-404');
      expect(json(res).meta.requestId).toBe('req-404');
    });
  });

  describe('errors', () => {
    it('unknown route: 404 NOT_FOUND envelope', async () => {
      const res = await t.request({ method: 'DELETE', url: '/api/v1/no/such/route?x=1' });
      expect(res.statusCode).toBe(404);
      const body = json(res);
      expect(body.error).toEqual({
        code: 'NOT_FOUND',
        message: 'Route DELETE /api/v1/no/such/route does not exist',
        details: { method: 'DELETE', path: '/api/v1/no/such/route' },
      });
      expect(body.data).toBeUndefined();
    });

    it('unknown resource: 404 with {resource, id}', async () => {
      const res = await t.request({ method: 'GET', url: '/api/v1/__probe/error/not-found' });
      expect(res.statusCode).toBe(404);
      expect(json(res).error).toEqual({
        code: 'NOT_FOUND',
        message: 'Widget 42 was not found',
        details: { resource: 'Widget', id: '42' },
      });
    });

    it('AppError subclasses keep their status, code and details', async () => {
      const conflict = await t.request({ method: 'GET', url: '/api/v1/__probe/error/conflict' });
      expect(conflict.statusCode).toBe(409);
      expect(json(conflict).error).toEqual({ code: 'CONFLICT', message: 'Already there', details: { name: ['taken'] } });
      const forbidden = await t.request({ method: 'GET', url: '/api/v1/__probe/error/forbidden' });
      expect(forbidden.statusCode).toBe(403);
      expect(json(forbidden).error.code).toBe('FORBIDDEN');
    });

    it('validation: 400 VALIDATION_ERROR with dotted field paths', async () => {
      const res = await t.request({
        method: 'POST',
        url: '/api/v1/__probe/echo',
        payload: { name: '', nested: { count: 0 }, level: 'high' },
      });
      expect(res.statusCode).toBe(400);
      const { error } = json(res);
      expect(error.code).toBe('VALIDATION_ERROR');
      expect(error.details.name).toEqual(['name must be longer than or equal to 1 characters']);
      expect(error.details['nested.count']).toEqual(['count must not be less than 1']);
      expect(error.details.level).toEqual(expect.arrayContaining(['level must be an integer number']));
    });

    it('validation: unknown fields are rejected, not stripped', async () => {
      const res = await t.request({ method: 'POST', url: '/api/v1/__probe/echo', payload: { name: 'a', roles: ['admin'] } });
      expect(res.statusCode).toBe(400);
      expect(json(res).error).toMatchObject({ code: 'VALIDATION_ERROR', details: { roles: ['property roles should not exist'] } });
    });

    it('validation: a JSON body that is not an object is a 400', async () => {
      for (const payload of ['"just a string"', '[1,2]', 'null', '42']) {
        const res = await t.request({
          method: 'POST',
          url: '/api/v1/__probe/echo',
          payload,
          headers: { 'content-type': 'application/json' },
        });
        expect({ payload, status: res.statusCode, code: json(res).error.code }).toEqual({ payload, status: 400, code: 'BAD_REQUEST' });
      }
    });

    it('valid input passes through, transformed', async () => {
      const res = await t.request({ method: 'POST', url: '/api/v1/__probe/echo', payload: { name: 'ok', nested: { count: 2 } } });
      expect(res.statusCode).toBe(201);
      expect(json(res).data).toEqual({ name: 'ok', nested: { count: 2 } });
    });

    it('malformed JSON: 400 BAD_REQUEST', async () => {
      const res = await t.request({
        method: 'POST',
        url: '/api/v1/__probe/echo',
        payload: '{"name": "a",',
        headers: { 'content-type': 'application/json' },
      });
      expect(res.statusCode).toBe(400);
      expect(json(res).error).toEqual({ code: 'BAD_REQUEST', message: expect.stringMatching(/not valid JSON/) });
      expect(json(res).meta.requestId).toBe(res.headers['x-request-id']);
    });

    it('empty JSON body: 400 BAD_REQUEST', async () => {
      const res = await t.request({
        method: 'POST',
        url: '/api/v1/__probe/echo',
        payload: '',
        headers: { 'content-type': 'application/json' },
      });
      expect(res.statusCode).toBe(400);
      expect(json(res).error.code).toBe('BAD_REQUEST');
    });

    it('body over BODY_LIMIT: 413 PAYLOAD_TOO_LARGE', async () => {
      const res = await t.request({ method: 'POST', url: '/api/v1/__probe/echo', payload: { name: 'x'.repeat(2000) } });
      expect(res.statusCode).toBe(413);
      expect(json(res).error.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it.each([
      ['text/plain', 'name=a'],
      ['application/x-www-form-urlencoded', 'name=a'],
      ['application/xml', '<name>a</name>'],
    ])('a %s body: 415 UNSUPPORTED_MEDIA_TYPE', async (type, payload) => {
      const res = await t.request({ method: 'POST', url: '/api/v1/__probe/echo', payload, headers: { 'content-type': type } });
      expect(res.statusCode).toBe(415);
      expect(json(res).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('a duplicate key from the real driver: 409 CONFLICT', async () => {
      const first = await t.request({ method: 'POST', url: '/api/v1/__probe/items', payload: { name: 'dup' } });
      expect(first.statusCode).toBe(201);
      const second = await t.request({ method: 'POST', url: '/api/v1/__probe/items', payload: { name: 'dup' } });
      expect(second.statusCode).toBe(409);
      const { error } = json(second);
      expect(error.code).toBe('CONFLICT');
      expect(JSON.stringify(error)).not.toMatch(/INSERT|probe_items|Duplicate entry|SQLITE/i);
    });

    it('anything unexpected: generic 500 INTERNAL_ERROR; the stack is logged with the request id, never sent', async () => {
      const res = await t.request({
        method: 'GET',
        url: '/api/v1/__probe/error/boom',
        headers: { 'x-request-id': 'req-500' },
      });
      expect(res.statusCode).toBe(500);
      expect(json(res).error).toEqual({ code: 'INTERNAL_ERROR', message: 'An unexpected error occurred' });
      expect(res.body).not.toContain('SECRET-INTERNAL-DETAIL');
      expect(res.body).not.toContain('.ts:');
      const line = logs.lines.find((l) => l.requestId === 'req-500' && l.level === 'error');
      expect(line).toBeDefined();
      expect(JSON.stringify(line)).toContain('SECRET-INTERNAL-DETAIL');
      expect((line!.err as { stack: string }).stack).toContain('probe.module');
    });
  });

  describe('logs', () => {
    it('writes one JSON access line per request with id, method, route template, status, duration', async () => {
      await t.request({ method: 'GET', url: '/api/v1/__probe/error/not-found', headers: { 'x-request-id': 'req-access' } });
      const line = logs.lines.find((l) => l.requestId === 'req-access' && l.msg === 'request completed');
      expect(line).toMatchObject({
        level: 'info',
        method: 'GET',
        route: '/api/v1/__probe/error/:kind',
        status: 404,
      });
      expect(typeof line!.durationMs).toBe('number');
    });

    it('lines written by services carry the request id; secrets are redacted', async () => {
      await t.request({
        method: 'GET',
        url: '/api/v1/__probe/log',
        headers: { 'x-request-id': 'req-log', authorization: 'Bearer should-not-appear' },
      });
      const line = logs.lines.find((l) => l.msg === 'probe log line');
      expect(line).toMatchObject({ requestId: 'req-log', context: 'ProbeService', password: '[redacted]' });
      expect(logs.text()).not.toContain('hunter2-secret');
      expect(logs.text()).not.toContain('rt-secret');
      expect(logs.text()).not.toContain('should-not-appear');
    });
  });

  describe('operations', () => {
    it('sets security headers', async () => {
      const res = await t.request({ method: 'GET', url: '/health/live' });
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    });

    it('serves the Swagger UI and the OpenAPI document with bearer auth', async () => {
      const ui = await t.request({ method: 'GET', url: '/docs' });
      expect(ui.statusCode).toBe(200);
      expect(ui.headers['content-type']).toContain('text/html');
      const doc = json(await t.request({ method: 'GET', url: '/docs/json' }));
      expect(doc.openapi).toMatch(/^3\./);
      expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(doc.paths['/health/ready'].get.responses['503']).toBeDefined();
      expect(doc.components.schemas.ErrorEnvelopeDto).toBeDefined();
    });

    it('exposes Prometheus metrics with request durations by route template and status', async () => {
      await t.request({ method: 'GET', url: '/api/v1/__probe/ok' });
      const res = await t.request({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/plain');
      expect(res.body).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/__probe\/ok",status_code="200"\} \d+/);
      expect(res.body).toContain('process_cpu_user_seconds_total');
      expect(res.body).toContain('db_pool_connections');
      expect(res.body).toContain('cache_requests_total');
    });
  });
});

describe('CORS', () => {
  let env: IsolatedEnv;
  let t: TestApp;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    t = await startTestApp(env, { env: { CORS_ORIGINS: 'https://app.example.com' } });
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  it('allows the configured origins and exposes the request id header', async () => {
    const preflight = await t.request({
      method: 'OPTIONS',
      url: '/api/v1/auth/login',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const res = await t.request({ method: 'GET', url: '/health/live', headers: { origin: 'https://app.example.com' } });
    expect(res.headers['access-control-expose-headers']).toContain('X-Request-Id');
  });

  it('gives other origins no CORS headers', async () => {
    const res = await t.request({ method: 'GET', url: '/health/live', headers: { origin: 'https://evil.example.com' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});
