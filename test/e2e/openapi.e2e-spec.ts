import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiExcludeEndpoint } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import { Auth, Public } from '../../src/core/auth/auth.decorators';
import { ApiEnvelope } from '../../src/core/swagger/api-envelope.decorator';
import { bearer, login, signUp } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { json, startTestApp, TestApp } from '../support/test-app';

interface RouterRoute {
  method: string;
  /** Fastify's path, `:param` style. */
  url: string;
}

/**
 * Records every route Fastify registers. Its constructor runs while Nest instantiates providers,
 * before `app.init()` registers the controllers' routes (and after nothing has been registered),
 * so the table is the router's own, prefixes and exclusions applied.
 */
@Injectable()
class RouteRecorder {
  readonly routes: RouterRoute[] = [];

  constructor(host: HttpAdapterHost) {
    host.httpAdapter.getInstance<FastifyInstance>().addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) this.routes.push({ method, url: route.url });
    });
  }
}

@Module({ providers: [RouteRecorder] })
class RouteTableModule {}

/** Routes the document leaves out on purpose. */
const UNDOCUMENTED: Array<[RegExp, string]> = [
  [/^\/metrics$/, 'Prometheus scrape in the text exposition format, for the monitoring system, not API clients (@ApiExcludeController)'],
  [/^\/docs($|[/-])/, 'the Swagger UI and the OpenAPI document themselves'],
];
/** Every /api/v1 route can answer these (rate limit, bug, dependency down). */
const COMMON_ERRORS = ['429', '500', '503'];

/** The router's routes, less the HEAD twin Fastify adds beside each GET and the deliberately undocumented ones. */
function documentableRoutes(routes: RouterRoute[]): RouterRoute[] {
  const gets = new Set(routes.filter((r) => r.method === 'GET').map((r) => r.url));
  return routes.filter((r) => !(r.method === 'HEAD' && gets.has(r.url)) && !UNDOCUMENTED.some(([pattern]) => pattern.test(r.url)));
}

function templateOf(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * What the document gets wrong about the router (empty: nothing): a route missing from it (same
 * method, same path template), a route outside /api/v1 and /health, a bearer route without its
 * 401, an /api/v1 route without the common errors (no `@ApiEnvelope`), and an operation no route serves.
 */
function documentProblems(routes: RouterRoute[], document: Record<string, any>): string[] {
  const problems: string[] = [];
  const served = new Set<string>();
  for (const { method, url } of documentableRoutes(routes)) {
    const path = templateOf(url);
    const where = `${method} ${path}`;
    served.add(where);
    if (!/^\/(api\/v1|health)\//.test(path)) problems.push(`${where}: outside /api/v1 and /health, and not listed as undocumented`);
    const operation = document.paths[path]?.[method.toLowerCase()];
    if (!operation) {
      problems.push(`${where}: not in the document`);
      continue;
    }
    const responses = Object.keys(operation.responses ?? {});
    if (operation.security?.length && !responses.includes('401')) problems.push(`${where}: bearer security without a documented 401`);
    if (path.startsWith('/api/v1/')) {
      const missing = COMMON_ERRORS.filter((status) => !responses.includes(status));
      if (missing.length) problems.push(`${where}: does not document ${missing.join(', ')} (no @ApiEnvelope?)`);
    }
  }
  for (const [path, item] of Object.entries(document.paths as Record<string, object>)) {
    for (const method of Object.keys(item)) {
      if (!served.has(`${method.toUpperCase()} ${path}`))
        problems.push(`${method.toUpperCase()} ${path}: documented, but no route serves it`);
    }
  }
  return problems;
}

/** A test-only module whose routes a careless module could add: each one the check must name. */
@Controller('__undocumented')
class UndocumentedController {
  @Get('hidden')
  @Public()
  @ApiExcludeEndpoint()
  hidden() {
    return { hidden: true };
  }

  @Get('bare')
  @Auth()
  bare() {
    return { bare: true };
  }

  @Get('plain')
  @Public()
  plain() {
    return { plain: true };
  }

  @Get('fine')
  @Public()
  @ApiEnvelope(null)
  fine(): void {}
}

@Module({ controllers: [UndocumentedController] })
class UndocumentedModule {}

/** The OpenAPI document is part of the contract: every route, its body, responses and errors. */
describe('OpenAPI document', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let doc: Record<string, any>;
  let routes: RouterRoute[];

  beforeAll(async () => {
    env = await createIsolatedEnv();
    t = await startTestApp(env, { extraModules: [RouteTableModule] });
    doc = json(await t.request({ method: 'GET', url: '/docs/json' }));
    routes = t.app.get(RouteRecorder).routes;
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  it('reads the route table from the router: prefixed API routes, the probes, and what is deliberately left out', () => {
    const seen = routes.map((r) => `${r.method} ${r.url}`);
    expect(seen).toEqual(
      expect.arrayContaining(['GET /api/v1/users/:id', 'POST /api/v1/transfers', 'GET /health/ready', 'GET /metrics', 'GET /docs/json']),
    );
    expect(documentableRoutes(routes).length).toBeGreaterThan(20);
  });

  it('documents every route the router serves (same method and path template), and no route that is not served', () => {
    expect(documentProblems(routes, doc)).toEqual([]);
  });

  it('names a route a module forgot to document, and refuses nothing that is documented', async () => {
    const other = await startTestApp(env, { extraModules: [RouteTableModule, UndocumentedModule] });
    try {
      const otherDoc = json(await other.request({ method: 'GET', url: '/docs/json' }));
      expect(documentProblems(other.app.get(RouteRecorder).routes, otherDoc)).toEqual([
        'GET /api/v1/__undocumented/hidden: not in the document',
        'GET /api/v1/__undocumented/bare: does not document 429, 500, 503 (no @ApiEnvelope?)',
        'GET /api/v1/__undocumented/plain: does not document 429, 500, 503 (no @ApiEnvelope?)',
      ]);
    } finally {
      await other.close();
    }
  });

  it('the comparison itself names each kind of gap (no app: a route table and a document made up here)', () => {
    const op = (security: unknown[], statuses: string[]) => ({ security, responses: Object.fromEntries(statuses.map((s) => [s, {}])) });
    const madeUp = {
      paths: {
        '/api/v1/ok/{id}': { get: op([{ bearer: [] }], ['200', '401', '429', '500', '503']) },
        '/api/v1/no-401': { get: op([{ bearer: [] }], ['200', '429', '500', '503']) },
        '/api/v1/ghost': { delete: op([], ['204', '429', '500', '503']) },
      },
    };
    const table: RouterRoute[] = [
      { method: 'GET', url: '/api/v1/ok/:id' },
      { method: 'HEAD', url: '/api/v1/ok/:id' },
      { method: 'GET', url: '/api/v1/no-401' },
      { method: 'POST', url: '/api/v1/missing' },
      { method: 'GET', url: '/elsewhere' },
      { method: 'GET', url: '/metrics' },
      { method: 'GET', url: '/docs/json' },
    ];
    expect(documentProblems(table, madeUp)).toEqual([
      'GET /api/v1/no-401: bearer security without a documented 401',
      'POST /api/v1/missing: not in the document',
      'GET /elsewhere: outside /api/v1 and /health, and not listed as undocumented',
      'GET /elsewhere: not in the document',
      'DELETE /api/v1/ghost: documented, but no route serves it',
    ]);
  });

  /** The contract's own statuses per route (the router cannot know a 409 or a 422): beside, not instead of, the enumeration above. */
  const routeStatuses: Array<[string, string, number[]]> = [
    ['post', '/api/v1/auth/register', [201, 400, 409, 429]],
    ['post', '/api/v1/auth/login', [200, 400, 401, 429]],
    ['post', '/api/v1/auth/refresh', [200, 401]],
    ['post', '/api/v1/auth/logout', [204, 401]],
    ['post', '/api/v1/auth/logout-all', [204, 401]],
    ['get', '/api/v1/auth/me', [200, 401]],
    ['patch', '/api/v1/auth/me/password', [204, 400, 401]],
    ['get', '/api/v1/auth/sessions', [200, 401]],
    ['delete', '/api/v1/auth/sessions', [204, 401]],
    ['delete', '/api/v1/auth/sessions/{id}', [204, 400, 401, 404]],
    ['post', '/api/v1/auth/password/forgot', [202, 400, 429]],
    ['post', '/api/v1/auth/password/reset', [204, 400, 429]],
    ['post', '/api/v1/auth/email/verify', [204, 400, 429]],
    ['post', '/api/v1/auth/email/verify/resend', [202, 401, 429]],
    ['get', '/api/v1/users', [200, 400, 401, 403]],
    ['post', '/api/v1/users', [201, 400, 401, 403, 409]],
    ['get', '/api/v1/users/{id}', [200, 400, 401, 403, 404]],
    ['patch', '/api/v1/users/{id}', [200, 400, 401, 403, 404, 409]],
    ['delete', '/api/v1/users/{id}', [204, 401, 403, 404]],
    ['post', '/api/v1/accounts', [201, 400, 401, 403]],
    ['get', '/api/v1/accounts', [200, 400, 401, 403]],
    ['get', '/api/v1/accounts/{id}', [200, 400, 401, 403, 404]],
    ['post', '/api/v1/accounts/{id}/deposits', [201, 400, 401, 403, 404, 422]],
    ['get', '/api/v1/accounts/{id}/transactions', [200, 400, 401, 403, 404]],
    ['post', '/api/v1/transfers', [201, 400, 401, 403, 404, 409, 422]],
    ['get', '/api/v1/transfers/{id}', [200, 400, 401, 403, 404]],
    ['get', '/health/live', [200]],
    ['get', '/health/ready', [200, 503]],
  ];

  it.each(routeStatuses)('%s %s documents its responses', (method, path, statuses) => {
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

  it("documents what another module embeds into a list: GET /users' include=accounts and UserResponse.accounts (registered by accounts)", () => {
    const parameters = doc.paths['/api/v1/users'].get.parameters as Array<{ name: string; in: string; schema: { enum?: string[] } }>;
    expect(parameters.filter((p) => p.name === 'include')).toEqual([
      expect.objectContaining({ in: 'query', schema: expect.objectContaining({ enum: ['accounts'] }) }),
    ]);
    expect(doc.components.schemas.UserResponse.properties.accounts).toMatchObject({
      type: 'array',
      items: { $ref: '#/components/schemas/AccountResponse' },
    });
    expect(doc.components.schemas.UserResponse.required).not.toContain('accounts');
    expect(JSON.stringify(doc)).not.toContain('x-app-embeds');
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

  it('says what each route really does: 401 without a token exactly where it declares bearer security, and documents any 403 a plain user gets', async () => {
    const user = await signUp(t);
    let token = user.accessToken;
    const observed: Array<{ route: string; security: string; without: number; asUser: number; documents403: boolean }> = [];
    for (const { method, url } of documentableRoutes(routes)) {
      const operation = doc.paths[templateOf(url)][method.toLowerCase()];
      const target = url.replace(/:[A-Za-z0-9_]+/g, '01900000-0000-7000-8000-000000000000');
      const payload = method === 'GET' || method === 'DELETE' ? undefined : {};
      const without = await t.request({ method, url: target, payload });
      const asUser = await t.request({ method, url: target, payload, headers: bearer(token) });
      // a route that did something with no body (logout-all) may have ended the session
      if (asUser.statusCode < 300) token = (await login(t, user.email, user.password)).accessToken;
      observed.push({
        route: `${method} ${url}`,
        security: operation.security?.length ? 'bearer' : 'public',
        without: without.statusCode,
        asUser: asUser.statusCode,
        documents403: Boolean(operation.responses['403']),
      });
    }
    for (const o of observed) {
      expect({ route: o.route, unauthorised: o.without === 401 }).toEqual({ route: o.route, unauthorised: o.security === 'bearer' });
      expect({ route: o.route, userIs401: o.asUser === 401 }).toEqual({ route: o.route, userIs401: false });
      if (o.asUser === 403) expect({ route: o.route, documents403: o.documents403 }).toEqual({ route: o.route, documents403: true });
    }
    // the admin-only routes answer a plain user 403, before reading the body
    expect(observed.filter((o) => o.asUser === 403).map((o) => o.route)).toEqual(
      expect.arrayContaining(['GET /api/v1/users', 'POST /api/v1/users', 'DELETE /api/v1/users/:id', 'POST /api/v1/accounts/:id/deposits']),
    );
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
