// What the two references (bench/baseline.mjs, bare Fastify; bench/floor.mjs, minimal Nest) share:
// the contract's per-request work written once, so the two differ only by their framework. Each
// piece is the cheapest correct form of a rule docs/API.md states; none is left out.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** Resolves a module of the built app (`npm run bench` builds it first). */
export function requireBuilt(path) {
  return require(join(root, 'dist', 'src', path));
}

// -- request ids: the inbound X-Request-Id when it matches the contract's pattern, else a new UUID
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export function requestIdOf(request) {
  const inbound = request.headers['x-request-id'];
  return typeof inbound === 'string' && REQUEST_ID_PATTERN.test(inbound) ? inbound : randomUUID();
}

// -- response headers: the app's own helmet set (computed once by the app's module, plain HTTP),
// X-Request-Id and Cache-Control: no-store, as every answer of the app outside /docs carries
export const securityHeaders = requireBuilt('core/http/security-headers.js').securityHeaderSets().http;
export function applyEdgeHeaders(request, reply) {
  reply.headers(securityHeaders).header('X-Request-Id', request.id).header('Cache-Control', 'no-store');
}

export const meta = (requestId) => ({ requestId, timestamp: new Date().toISOString() });
export const errorBody = (requestId, code, message, details) => ({
  error: details === undefined ? { code, message } : { code, message, details },
  meta: meta(requestId),
});

// -- bearer tokens (RFC 6750, as core/auth/bearer-token.ts reads them)
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
export function bearerTokenOf(authorization) {
  if (typeof authorization !== 'string') return null;
  return BEARER.exec(authorization)?.[1] ?? null;
}

/**
 * HS256 access-token verification with node:crypto, used by both references. Chosen over
 * jsonwebtoken (what passport-jwt runs in the app) because it is the cheapest correct check of
 * everything the contract asks (HS256 only, signature, iss, aud, exp, nbf, typ, sub, ver): a
 * reference that does the same work faster is the honest floor, never a softer one. The
 * signature is compared as its canonical base64url text, as jws does, so no alternative
 * spelling of the same bytes passes.
 */
export function accessTokenVerifier(secret) {
  const key = Buffer.from(secret, 'utf8');
  return (token) => {
    if (typeof token !== 'string') return null;
    const first = token.indexOf('.');
    const second = token.indexOf('.', first + 1);
    if (first < 1 || second < 0 || token.indexOf('.', second + 1) !== -1) return null;
    const header = parseSegment(token.slice(0, first));
    if (header?.alg !== 'HS256') return null;
    const expected = Buffer.from(createHmac('sha256', key).update(token.slice(0, second)).digest('base64url'));
    const given = Buffer.from(token.slice(second + 1));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const claims = parseSegment(token.slice(first + 1, second));
    if (claims === null || typeof claims !== 'object') return null;
    const now = Math.floor(Date.now() / 1000);
    if (claims.iss !== 'modular-monolith') return null;
    if (Array.isArray(claims.aud) ? !claims.aud.includes('modular-monolith-api') : claims.aud !== 'modular-monolith-api') return null;
    if (typeof claims.exp !== 'number' || now >= claims.exp) return null;
    if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > now)) return null;
    if (claims.typ !== 'access' || typeof claims.sub !== 'string' || typeof claims.ver !== 'number') return null;
    return claims;
  };
}

function parseSegment(segment) {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// -- the database: mysql2 (a pool of DB_POOL_SIZE, each connection's session set once when it
// opens, as core/database/mysql-session.ts does) or better-sqlite3 on the app's file
export async function openDatabase(url) {
  if (url.startsWith('mysql')) {
    const mysql = await import('mysql2/promise');
    const pool = mysql.createPool({ uri: url, connectionLimit: Number(process.env.DB_POOL_SIZE || 10), timezone: 'Z' });
    const lock = Math.trunc(Number(process.env.DB_LOCK_TIMEOUT || 5));
    const statement = Number(process.env.DB_STATEMENT_TIMEOUT || 10);
    const session =
      `SET SESSION time_zone = '+00:00', lock_wait_timeout = ${lock}, innodb_lock_wait_timeout = ${lock}` +
      ` /*M!100100 , max_statement_time = ${statement} */ /*!80000 , max_execution_time = ${statement * 1000} */`;
    // the callback pool's connection: its first command runs before anything the pool queues on it
    pool.pool.on('connection', (connection) => connection.query(session, () => {}));
    return {
      kind: 'mysql',
      pool,
      query: async (sql, params) => (await pool.query(sql, params))[0],
      close: () => pool.end(),
    };
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(url.slice('sqlite:'.length), { timeout: Number(process.env.DB_LOCK_TIMEOUT || 5) * 1000 });
  const statements = new Map();
  const prepared = (sql) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  return {
    kind: 'sqlite',
    db,
    prepared,
    query: async (sql, params = []) => {
      const statement = prepared(sql);
      return statement.reader ? statement.all(...params) : statement.run(...params);
    },
    close: async () => db.close(),
  };
}

/** A DATETIME(3) value as read from either driver (SQLite gives "YYYY-MM-DD HH:MM:SS.sss", UTC). */
export function isoOf(value) {
  if (value instanceof Date) return value.toISOString();
  return new Date(`${String(value).replace(' ', 'T')}Z`).toISOString();
}

/** A Date as SQLite stores DATETIME(3) (TypeORM's format, UTC). */
export const sqliteDatetime = (date) => date.toISOString().replace('T', ' ').replace('Z', '');

// -- the cache: one Redis GET per read (node-redis), or process memory without REDIS_URL
export async function openCache(redisUrl, prefix, ttlSeconds = Number(process.env.CACHE_TTL || 3600)) {
  if (redisUrl) {
    const { createClient } = await import('@redis/client');
    const redis = createClient({ url: redisUrl });
    await redis.connect();
    return {
      get: async (key) => JSON.parse((await redis.get(prefix + key)) ?? 'null'),
      set: (key, value) => redis.set(prefix + key, JSON.stringify(value), { EX: ttlSeconds }),
      ping: () => redis.ping(),
      close: () => redis.close(),
    };
  }
  const map = new Map();
  return {
    get: async (key) => map.get(key) ?? null,
    set: async (key, value) => map.set(key, value),
    ping: async () => 'PONG',
    close: async () => {},
  };
}

/** The user as the app caches it (its UserRecord: no password hash), cache-aside. */
export async function loadUser(db, cache, id) {
  const key = `user:${id}`;
  let user = await cache.get(key);
  if (!user) {
    const [row] = await db.query('SELECT id, email, name, roles, token_version, created_at, updated_at FROM users WHERE id = ?', [id]);
    if (!row) return null;
    user = {
      id: row.id,
      email: row.email,
      name: row.name,
      roles: row.roles.split(',').filter(Boolean),
      tokenVersion: row.token_version,
      createdAt: isoOf(row.created_at),
      updatedAt: isoOf(row.updated_at),
    };
    await cache.set(key, user);
  }
  return user;
}

/** What a client sees of a user (toUserResponse): every field named. */
export const toUserResponse = (user) => ({
  id: user.id,
  email: user.email,
  name: user.name,
  roles: user.roles,
  createdAt: user.createdAt,
  updatedAt: user.updatedAt,
});

/**
 * Who the request is, or null for a 401: the bearer token verified, then the caller's current
 * state through the cache (a deleted user or a bumped token version fails at once).
 */
export async function authenticate(verify, db, cache, authorization) {
  const claims = verify(bearerTokenOf(authorization));
  if (!claims) return null;
  const user = await loadUser(db, cache, claims.sub);
  return user && user.tokenVersion === claims.ver ? user : null;
}

// -- UUIDv7 (core/database/uuid.ts): creation order is id order
let lastMs = 0;
let sequence = 0;
export function uuidv7() {
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    sequence = randomBytes(2).readUInt16BE() & 0x3ff;
  } else {
    ms = lastMs;
    sequence += 1;
    if (sequence > 0xfff) {
      lastMs += 1;
      ms = lastMs;
      sequence = 0;
    }
  }
  return uuidv7At(ms, sequence);
}

/** A UUIDv7 of a given millisecond and 12-bit sequence, random otherwise. */
export function uuidv7At(ms, seq) {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | (seq >> 8);
  bytes[7] = seq & 0xff;
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// -- request bodies: the contract's shape bounds (core/http/json-body.ts), on top of Fastify's
// own parser, which already refuses __proto__ and constructor poisoning
const LONE_SURROGATE = /\p{Cs}/u;
const PROTOTYPE_MEMBERS = new Set(['__proto__', 'constructor', 'prototype']);
export function jsonBodyProblem(body) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'The request body must be a JSON object';
  const pending = [{ value: body, depth: 1 }];
  let members = 0;
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, depth } = next;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) return 'The request body contains text that is not valid Unicode';
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > 16) return 'The request body is nested more than 16 levels deep';
    members += Array.isArray(value) ? value.length : Object.keys(value).length;
    if (members > 1000) return 'The request body has more than 1000 members';
    for (const [key, item] of Array.isArray(value) ? value.map((item) => ['', item]) : Object.entries(value)) {
      if (key.length > 128) return 'The request body has a member name longer than 128 characters';
      if (LONE_SURROGATE.test(key)) return 'The request body contains text that is not valid Unicode';
      if (PROTOTYPE_MEMBERS.has(key)) return 'The request body may not contain __proto__, constructor or prototype members';
      pending.push({ value: item, depth: depth + 1 });
    }
  }
  return null;
}
