// The bare baseline: Fastify + mysql2 (or better-sqlite3) + node-redis doing the same work as the
// app's benchmarked routes, with nothing else (no Nest, no guards, no interceptors).
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import helmet from 'helmet';

const databaseUrl = process.env.DATABASE_URL || 'sqlite:data/bench-baseline.sqlite';
const redisUrl = process.env.REDIS_URL || null;
const port = Number(process.env.PORT || 3100);

let pingDatabase;
if (databaseUrl.startsWith('mysql')) {
  const mysql = await import('mysql2/promise');
  const pool = mysql.createPool({ uri: databaseUrl, connectionLimit: 10 });
  pingDatabase = () => pool.query('SELECT 1');
} else {
  const { mkdirSync } = await import('node:fs');
  const { dirname } = await import('node:path');
  const { default: Database } = await import('better-sqlite3');
  const file = databaseUrl.slice('sqlite:'.length);
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  const statement = db.prepare('SELECT 1');
  pingDatabase = async () => statement.get();
}

let pingCache = async () => undefined;
if (redisUrl) {
  const { createClient } = await import('@redis/client');
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  pingCache = () => redis.ping();
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
  await Promise.all([pingDatabase(), pingCache()]);
  return { data: { status: 'ok', checks: { database: 'up', cache: 'up' } }, meta: meta(request.id) };
});

await app.listen({ port, host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
