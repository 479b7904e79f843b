import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { envelopeProblem } from '../support/envelope';
import { ADMIN_ENV, adminSession, bearer, Session, signUp } from '../support/factories';
import {
  apiOperations,
  bodySchema,
  databaseSnapshot,
  EDGE_BODIES,
  HOSTILE_IDS,
  HOSTILE_VALUES,
  hostileQueries,
  isList,
  Operation,
} from '../support/hostile';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { captureLogs, CapturedLogs } from '../support/log-capture';
import { outboxSettled } from '../support/outbox';
import { mailSettled } from '../support/relays';
import { json, startTestApp, TestApp } from '../support/test-app';

/**
 * Hostile input through HTTP to every route of the OpenAPI document (so a new route is covered
 * the day it appears): write routes get hostile bodies, lists hostile queries, `:id` routes
 * hostile ids, each as an admin and as a normal user. Invariants: no 5xx, every answer an
 * envelope with a contract code, nothing refused changed the database, and the logs of the
 * whole run hold no password, token, secret, hash, SQL or stack trace.
 */
describe('hostile input', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let logs: CapturedLogs;
  let doc: Record<string, any>;
  let operations: Operation[];
  let sessions: Array<[string, Session]>;
  const ids: Record<string, string> = {};
  const problems: string[] = [];
  let answers = 0;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    logs = captureLogs('debug');
    t = await startTestApp(env, { env: ADMIN_ENV, logger: logs.logger });
    const admin = await adminSession(t);
    const user = await signUp(t);
    sessions = [
      ['admin', admin],
      ['user', user],
    ];
    const open = async (who: Session) =>
      json(
        await t.request({
          method: 'POST',
          url: '/api/v1/accounts',
          headers: bearer(who.accessToken),
          payload: { name: 'Main', currency: 'EUR' },
        }),
      ).data.id as string;
    ids.users = user.id;
    ids.accounts = await open(user);
    ids.adminAccount = await open(admin);
    await t.request({
      method: 'POST',
      url: `/api/v1/accounts/${ids.accounts}/deposits`,
      headers: bearer(admin.accessToken),
      payload: { amount: 1000 },
    });
    const transfer = await t.request({
      method: 'POST',
      url: '/api/v1/transfers',
      headers: bearer(user.accessToken),
      payload: { fromAccountId: ids.accounts, toAccountId: ids.adminAccount, amount: 10 },
    });
    ids.transfers = json(transfer).data.id;
    doc = json(await t.request({ method: 'GET', url: '/docs/json' }));
    operations = apiOperations(doc);
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  /** Sends one request and records what breaks an invariant; `refused`: it must be a 4xx. */
  async function send(
    who: string,
    session: Session,
    method: string,
    url: string,
    payload: string | undefined,
    refused: boolean,
  ): Promise<LightMyRequestResponse> {
    const res = await t.request({
      method,
      url,
      headers: { ...bearer(session.accessToken), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(payload === undefined ? {} : { payload }),
    });
    answers += 1;
    const problem = res.statusCode >= 500 ? `${res.statusCode} ${res.body.slice(0, 200)}` : envelopeProblem(res);
    const accepted = refused && res.statusCode < 400 ? `accepted with ${res.statusCode}` : null;
    if (problem ?? accepted)
      problems.push(`${who} ${method} ${url.slice(0, 100)} ${(payload ?? '').slice(0, 100)}: ${problem ?? accepted}`);
    return res;
  }

  /** A concrete URL for an OpenAPI path: each `{param}` becomes the id of its resource, or `id`. */
  function urlOf(path: string, id?: string): string {
    const resource = path.split('/')[3] ?? '';
    return path.replace(/\{[^}]+\}/g, id ?? ids[resource] ?? randomUUID());
  }

  /** Runs `work` for every case, a few at a time (the app answers concurrently; keeps the suite fast). */
  async function inBatches<T>(cases: T[], work: (item: T) => Promise<unknown>, size = 8): Promise<void> {
    for (let i = 0; i < cases.length; i += size) await Promise.all(cases.slice(i, i + size).map(work));
  }

  beforeEach(() => {
    problems.length = 0;
  });

  const writes = () => operations.filter((o) => o.method !== 'GET');
  const reportProblems = () => expect(problems.slice(0, 30)).toEqual([]);

  describe('refused, with the database unchanged', () => {
    let before: Record<string, string[]>;

    beforeAll(async () => {
      // the set-up's mails composed (each mints a token row) and its events recorded by now: nothing changes on its own
      await mailSettled(t);
      await outboxSettled(t);
      before = await databaseSnapshot(t);
    });

    it('enumerates the routes from the OpenAPI document', () => {
      expect(writes().length).toBeGreaterThanOrEqual(12);
      expect(operations.filter((o) => o.method === 'GET' && isList(o.operation)).map((o) => o.path)).toEqual(
        expect.arrayContaining(['/api/v1/users', '/api/v1/accounts', '/api/v1/accounts/{id}/transactions']),
      );
    });

    it('every write route: bodies that are not objects, deep, wide, with prototype members or not JSON', async () => {
      const cases = writes().flatMap((o) => sessions.flatMap(([who, s]) => EDGE_BODIES.map(([, body]) => ({ o, who, s, body }))));
      await inBatches(cases, ({ o, who, s, body }) => send(who, s, o.method, urlOf(o.path), body, true));
      reportProblems();
    });

    it('every write route with a body: each property gets each hostile value (with an unknown field, so it is refused)', async () => {
      const cases = writes().flatMap((o) => {
        const schema = bodySchema(doc, o.operation);
        if (!schema) return [];
        const properties = [...Object.keys(schema.properties), 'roles', 'isAdmin', '$where'];
        return sessions.flatMap(([who, s]) =>
          properties.flatMap((property) =>
            HOSTILE_VALUES.map(([, value]) => ({ o, who, s, body: `{${JSON.stringify(property)}:${value},"unknownField":1}` })),
          ),
        );
      });
      expect(cases.length).toBeGreaterThan(500);
      await inBatches(cases, ({ o, who, s, body }) => send(who, s, o.method, urlOf(o.path), body, true));
      reportProblems();
    });

    it('every list: hostile queries', async () => {
      const lists = operations.filter((o) => o.method === 'GET' && isList(o.operation));
      const cases = lists.flatMap((o) => {
        const names = ((o.operation.parameters ?? []) as Array<{ in: string; name: string }>)
          .filter((p) => p.in === 'query')
          .map((p) => p.name);
        return sessions.flatMap(([who, s]) => hostileQueries(names).map((query) => ({ o, who, s, query })));
      });
      await inBatches(cases, ({ o, who, s, query }) => send(who, s, 'GET', `${urlOf(o.path)}?${query}`, undefined, false));
      reportProblems();
    });

    it('every :id route: hostile path ids (writes never get a real id)', async () => {
      const cases = operations
        .filter((o) => o.path.includes('{'))
        .flatMap((o) =>
          sessions.flatMap(([who, s]) =>
            HOSTILE_IDS.map(([, raw]) => {
              const real = o.method === 'GET' ? urlOf(o.path).split('/')[4]! : randomUUID();
              const id = raw.replace('{upper}', real.toUpperCase()).replace('{uuid}', real);
              return { o, who, s, url: urlOf(o.path, id), refused: o.method !== 'GET' };
            }),
          ),
        );
      await inBatches(cases, ({ o, who, s, url, refused }) =>
        send(who, s, o.method, url, o.method === 'DELETE' || o.method === 'GET' ? undefined : '{}', refused),
      );
      reportProblems();
    });

    it('changed nothing in the database (every row of every table as before)', async () => {
      expect(await databaseSnapshot(t)).toEqual(before);
    });
  });

  it('each hostile value alone in an otherwise valid body: never a 5xx, always an envelope (the database may change)', async () => {
    const known: Record<string, string> = { fromAccountId: ids.accounts!, toAccountId: ids.adminAccount! };
    const cases = writes().flatMap((o) => {
      const schema = bodySchema(doc, o.operation);
      if (!schema) return [];
      const base = Object.fromEntries(
        schema.required
          .map((name) => [name, known[name] ?? schema.properties[name]?.example] as const)
          .filter(([, value]) => value !== undefined)
          .map(([name, value]) => [name, JSON.stringify(value)]),
      );
      return Object.keys(schema.properties).flatMap((property) =>
        sessions.flatMap(([who, s]) =>
          HOSTILE_VALUES.map(([, value]) => {
            const fields = { ...base, [property]: value };
            return {
              o,
              who,
              s,
              body: `{${Object.entries(fields)
                .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
                .join(',')}}`,
            };
          }),
        ),
      );
    });
    await inBatches(cases, ({ o, who, s, body }) => send(who, s, o.method, urlOf(o.path), body, false));
    reportProblems();
  });

  it('no password, token, secret, hash, SQL or stack trace reached the logs of the whole run', () => {
    expect(answers).toBeGreaterThan(3000);
    const text = logs.text();
    const [admin, user] = sessions.map(([, s]) => s);
    const secrets = [
      admin!.password,
      user!.password,
      admin!.accessToken,
      admin!.refreshToken,
      user!.accessToken,
      user!.refreshToken,
      t.config.jwt.accessSecret,
      t.config.jwt.refreshSecret,
      t.config.appSecret,
    ];
    expect(secrets.filter((secret) => text.includes(secret)).map((s) => s.slice(0, 6))).toEqual([]);
    for (const fragment of ['$argon2', 'Bearer ', 'SELECT ', 'INSERT ', 'UPDATE ', 'DELETE FROM', '\n    at ', '\\n    at ']) {
      expect({ fragment, found: text.includes(fragment) }).toEqual({ fragment, found: false });
    }
  });
});
