// The bare baseline: Fastify + mysql2 (or better-sqlite3) + node-redis doing the same work as the
// app's benchmarked routes, with nothing else (no Nest, no guards, no interceptors, no ORM).
import { createSecretKey, randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import helmet from 'helmet';
import jwt from 'jsonwebtoken';

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL || null;
const port = Number(process.env.PORT || 3100);
const accessKey = createSecretKey(Buffer.from(process.env.JWT_ACCESS_SECRET, 'utf8'));

let query;
if (databaseUrl.startsWith('mysql')) {
  const mysql = await import('mysql2/promise');
  const pool = mysql.createPool({ uri: databaseUrl, connectionLimit: 10, timezone: 'Z' });
  query = async (sql, params) => (await pool.query(sql, params))[0];
} else {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(databaseUrl.slice('sqlite:'.length));
  const statements = new Map();
  query = async (sql, params = []) => {
    if (!statements.has(sql)) statements.set(sql, db.prepare(sql));
    return statements.get(sql).all(...params);
  };
}

let cache;
if (redisUrl) {
  const { createClient } = await import('@redis/client');
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  cache = {
    get: async (key) => JSON.parse((await redis.get(key)) ?? 'null'),
    set: (key, value) => redis.set(key, JSON.stringify(value), { EX: 3600 }),
    ping: () => redis.ping(),
  };
} else {
  const map = new Map();
  cache = { get: async (key) => map.get(key) ?? null, set: async (key, value) => map.set(key, value), ping: async () => 'PONG' };
}

const meta = (id) => ({ requestId: id, timestamp: new Date().toISOString() });
const app = Fastify({ genReqId: () => randomUUID() });

// the same response headers as the app: helmet's, computed once, and the request id
const securityHeaders = {};
helmet()({}, { setHeader: (name, value) => (securityHeaders[name] = String(value)), removeHeader: () => {} }, () => {});
app.addHook('onRequest', (request, reply, done) => {
  reply.headers(securityHeaders).header('X-Request-Id', request.id);
  done();
});

app.get('/health/live', async (request) => ({ data: { status: 'ok' }, meta: meta(request.id) }));

app.get('/health/ready', async (request) => {
  await Promise.all([query('SELECT 1'), cache.ping()]);
  return { data: { status: 'ok', checks: { database: 'up', cache: 'up' } }, meta: meta(request.id) };
});

async function loadUser(id) {
  const key = `baseline:user:${id}`;
  let user = await cache.get(key);
  if (!user) {
    const [row] = await query('SELECT id, email, name, roles, token_version, created_at, updated_at FROM users WHERE id = ?', [id]);
    if (!row) return null;
    user = {
      id: row.id,
      email: row.email,
      name: row.name,
      roles: row.roles.split(',').filter(Boolean),
      tokenVersion: row.token_version,
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString(),
    };
    await cache.set(key, user);
  }
  return user;
}

// verify the bearer token, check the user's current state through the cache, answer the user
app.get('/api/v1/users/:id', async (request, reply) => {
  const token = request.headers.authorization?.slice('Bearer '.length);
  let claims;
  try {
    claims = jwt.verify(token, accessKey, { algorithms: ['HS256'], issuer: 'modular-monolith', audience: 'modular-monolith-api' });
  } catch {
    return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'A valid access token is required' }, meta: meta(request.id) });
  }
  const caller = await loadUser(claims.sub);
  if (!caller || caller.tokenVersion !== claims.ver) return reply.code(401).send({ error: { code: 'UNAUTHORIZED' }, meta: meta(request.id) });
  const user = await loadUser(request.params.id);
  const { tokenVersion: _version, ...data } = user;
  return { data, meta: meta(request.id) };
});

await app.listen({ port, host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
