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
    for (const status of statuses) expect({ path, status, documented: Boolean(operation.responses[String(status)]) }).toEqual({ path, status, documented: true });
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

  it('marks protected routes with bearer auth and public ones without', () => {
    expect(doc.paths['/api/v1/users'].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/v1/auth/login'].post.security).toBeUndefined();
  });

  it('documents success payloads inside the envelope', () => {
    const ok = doc.paths['/api/v1/users/{id}'].get.responses['200'].content['application/json'].schema;
    expect(ok.properties.data.$ref).toBe('#/components/schemas/UserResponse');
    expect(doc.components.schemas.UserResponse.properties).not.toHaveProperty('passwordHash');
  });
});
