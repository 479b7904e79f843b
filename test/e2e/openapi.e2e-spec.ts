import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { json, startTestApp, TestApp } from '../support/test-app';

/** The OpenAPI document is part of the contract: every route, its body, responses and errors. */
describe('OpenAPI document', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let doc: Record<string, any>;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    t = await startTestApp(env);
    doc = json(await t.request({ method: 'GET', url: '/docs/json' }));
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  const routes: Array<[string, string, number[]]> = [
    ['post', '/api/v1/auth/register', [201, 400, 409, 429]],
    ['post', '/api/v1/auth/login', [200, 400, 401, 429]],
    ['post', '/api/v1/auth/refresh', [200, 401]],
    ['post', '/api/v1/auth/logout', [204, 401]],
    ['post', '/api/v1/auth/logout-all', [204, 401]],
    ['get', '/api/v1/auth/me', [200, 401]],
    ['patch', '/api/v1/auth/me/password', [204, 400, 401]],
    ['get', '/api/v1/users', [200, 400, 401, 403]],
    ['post', '/api/v1/users', [201, 400, 401, 403, 409]],
    ['get', '/api/v1/users/{id}', [200, 400, 401, 403, 404]],
    ['patch', '/api/v1/users/{id}', [200, 400, 401, 403, 404, 409]],
    ['delete', '/api/v1/users/{id}', [204, 401, 403, 404]],
    ['post', '/api/v1/accounts', [201, 400, 401]],
    ['get', '/api/v1/accounts', [200, 400, 401, 403]],
    ['get', '/api/v1/accounts/{id}', [200, 400, 401, 403, 404]],
    ['post', '/api/v1/accounts/{id}/deposits', [201, 400, 401, 403, 404, 422]],
    ['get', '/api/v1/accounts/{id}/transactions', [200, 400, 401, 403, 404]],
    ['post', '/api/v1/transfers', [201, 400, 401, 403, 404, 409, 422]],
    ['get', '/api/v1/transfers/{id}', [200, 400, 401, 403, 404]],
    ['get', '/health/live', [200]],
    ['get', '/health/ready', [200, 503]],
  ];

  it.each(routes)('%s %s documents its responses', (method, path, statuses) => {
    const operation = doc.paths[path]?.[method];
    expect(operation).toBeDefined();
    for (const status of statuses)
      expect({ path, status, documented: Boolean(operation.responses[String(status)]) }).toEqual({ path, status, documented: true });
  });

  it('documents request bodies, with their constraints', () => {
    const register = doc.paths['/api/v1/auth/register'].post.requestBody.content['application/json'].schema.$ref as string;
    const schema = doc.components.schemas[register.split('/').pop()!];
    expect(schema.required).toEqual(expect.arrayContaining(['email', 'password', 'name']));
    expect(schema.properties.password).toMatchObject({ minLength: 8, maxLength: 128 });
  });

  it('documents the Idempotency-Key header on POST /transfers', () => {
    const parameters = doc.paths['/api/v1/transfers'].post.parameters as Array<{ name: string; in: string }>;
    expect(parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }));
  });

  it('marks protected routes with bearer auth and public ones with `security: []`', () => {
    expect(doc.paths['/api/v1/users'].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/v1/auth/login'].post.security).toEqual([]);
    expect(doc.paths['/health/live'].get.security).toEqual([]);
    expect(JSON.stringify(doc)).not.toContain('x-public');
  });

  it('says what each operation really asks for: a bearer route answers 401 without a token, a public one does not', async () => {
    const operations = Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({ method, path, security: operation.security })),
    );
    expect(operations.length).toBeGreaterThan(15);
    for (const { method, path, security } of operations) {
      const url = path.replace(/\{[^}]+\}/g, '01900000-0000-7000-8000-000000000000');
      const res = await t.request({ method: method.toUpperCase(), url, payload: method === 'get' || method === 'delete' ? undefined : {} });
      const expected = security?.length ? 401 : 'not 401';
      expect({ method, path, status: res.statusCode === 401 ? 401 : 'not 401' }).toEqual({ method, path, status: expected });
    }
  });

  it('passes `redocly lint` with the recommended rules (redocly.yaml)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc));
      const root = join(__dirname, '..', '..');
      const cli = join(root, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
      const run = await promisify(execFile)(
        process.execPath,
        [cli, 'lint', file, '--config', join(root, 'redocly.yaml'), '--format', 'json'],
        {
          cwd: root,
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        },
      ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
      const report = JSON.parse(run.stdout) as {
        problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }>;
      };
      const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`);
      expect(problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('documents success payloads inside the envelope', () => {
    const ok = doc.paths['/api/v1/users/{id}'].get.responses['200'].content['application/json'].schema;
    expect(ok.properties.data.$ref).toBe('#/components/schemas/UserResponse');
    expect(doc.components.schemas.UserResponse.properties).not.toHaveProperty('passwordHash');
  });
});
