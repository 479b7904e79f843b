import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { isCommonPassword } from '../core/auth/common-passwords';

export type DatabaseConfig = { kind: 'mysql'; url: string; database: string; poolSize: number } | { kind: 'sqlite'; file: string };

export type TrustProxy = boolean | number | string[];

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Every setting the service reads, validated once at start (see `loadConfig`). */
export interface AppConfig {
  nodeEnv: string;
  port: number;
  host: string;
  database: DatabaseConfig;
  /**
   * Seconds. `lock`: the longest a statement waits for a row, table or (SQLite) file lock;
   * `statement`: the longest a statement runs. Together they bound a unit of work, and the
   * idempotency-claim lease is derived from that bound (core/database/unit-of-work.ts).
   */
  dbTimeouts: { lockSeconds: number; statementSeconds: number };
  migrationsRun: boolean;
  redisUrl: string | null;
  /** Prefix of every Redis key this instance writes; lets several deployments share one Redis. */
  redisKeyPrefix: string;
  jwt: {
    accessSecret: string;
    refreshSecret: string;
    accessTtl: number;
    refreshTtl: number;
    refreshAbsoluteTtl: number;
  };
  rateLimit: { limit: number; authLimit: number; windowSeconds: number };
  trustProxy: TrustProxy;
  cache: { ttlSeconds: number; negativeTtlSeconds: number };
  bodyLimit: number;
  /** Seconds: a request must arrive in full within `request`; an idle kept-alive socket closes after `keepAlive`; a socket with no traffic at all after `connection` (0: never). */
  httpTimeouts: { requestSeconds: number; keepAliveSeconds: number; connectionSeconds: number };
  /** Master secret from which each purpose's key is derived (core/crypto/key-ring.ts). */
  appSecret: string;
  admin: { email: string; password: string } | null;
  corsOrigins: string[] | null;
  logLevel: LogLevel;
  /**
   * Outgoing mail (core/mail). `smtpUrl` null: mails are written as `.eml` files under `dir`.
   * `appUrl`: the origin of the links in mails (no trailing slash).
   */
  mail: { smtpUrl: string | null; from: string; appUrl: string; dir: string };
  /** Account lifecycle: one-time token lifetimes (seconds), and whether money needs a verified email. */
  lifecycle: { passwordResetTtl: number; emailVerifyTtl: number; requireVerifiedEmail: boolean };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const MIN_PRODUCTION_SECRET_LENGTH = 32;

/**
 * Reads and validates the environment. Collects every problem before failing so an operator
 * fixes a bad deployment in one go; never falls back silently from a value that was given.
 */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const problems: string[] = [];
  const read = new EnvReader(env, problems);
  const nodeEnv = read.string('NODE_ENV', 'development');
  const production = nodeEnv === 'production';

  const config: AppConfig = {
    nodeEnv,
    port: read.integer('PORT', 3000, 0, 65535),
    host: read.string('HOST', '0.0.0.0'),
    database: parseDatabaseUrl(read.string('DATABASE_URL', 'sqlite:data/app.sqlite'), read, problems),
    dbTimeouts: {
      lockSeconds: read.integer('DB_LOCK_TIMEOUT', 5, 1, 300),
      statementSeconds: read.integer('DB_STATEMENT_TIMEOUT', 10, 1, 300),
    },
    migrationsRun: read.boolean('MIGRATIONS_RUN', true),
    redisUrl: parseRedisUrl(env.REDIS_URL, problems),
    redisKeyPrefix: read.string('REDIS_KEY_PREFIX', 'app:'),
    jwt: {
      accessSecret: readSecret(env, 'JWT_ACCESS_SECRET', production, problems),
      refreshSecret: readSecret(env, 'JWT_REFRESH_SECRET', production, problems),
      accessTtl: read.integer('JWT_ACCESS_TTL', 900, 1, 86_400),
      refreshTtl: read.integer('JWT_REFRESH_TTL', 604_800, 1, 31_536_000),
      refreshAbsoluteTtl: read.integer('JWT_REFRESH_ABSOLUTE_TTL', 2_592_000, 1, 31_536_000),
    },
    rateLimit: {
      limit: read.integer('RATE_LIMIT', 100, 0, 1_000_000),
      authLimit: read.integer('AUTH_RATE_LIMIT', 10, 0, 1_000_000),
      windowSeconds: read.integer('RATE_LIMIT_WINDOW', 60, 1, 86_400),
    },
    trustProxy: parseTrustProxy(env.TRUST_PROXY, problems),
    cache: {
      ttlSeconds: read.integer('CACHE_TTL', 3600, 1, 31_536_000),
      negativeTtlSeconds: read.integer('CACHE_NEGATIVE_TTL', 60, 1, 31_536_000),
    },
    bodyLimit: read.integer('BODY_LIMIT', 102_400, 1, 100 * 1024 * 1024),
    httpTimeouts: {
      requestSeconds: read.integer('HTTP_REQUEST_TIMEOUT', 30, 1, 3600),
      keepAliveSeconds: read.integer('HTTP_KEEP_ALIVE_TIMEOUT', 72, 1, 3600),
      connectionSeconds: read.integer('HTTP_CONNECTION_TIMEOUT', 120, 0, 86_400),
    },
    appSecret: readSecret(env, 'APP_SECRET', production, problems),
    admin: readAdmin(env, problems),
    corsOrigins: parseCorsOrigins(env.CORS_ORIGINS, problems),
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    mail: {
      smtpUrl: parseSmtpUrl(env.SMTP_URL, problems),
      from: read.string('MAIL_FROM', 'Modular Monolith <no-reply@localhost>'),
      appUrl: parseAppUrl(read.string('APP_URL', 'http://localhost:3000'), problems),
      dir: read.string('MAIL_DIR', 'data/mail'),
    },
    lifecycle: {
      passwordResetTtl: read.integer('PASSWORD_RESET_TTL', 1800, 60, 86_400),
      emailVerifyTtl: read.integer('EMAIL_VERIFY_TTL', 86_400, 60, 2_592_000),
      requireVerifiedEmail: read.boolean('REQUIRE_VERIFIED_EMAIL', false),
    },
  };

  if (config.jwt.accessSecret === config.jwt.refreshSecret) {
    problems.push('JWT_ACCESS_SECRET and JWT_REFRESH_SECRET must be different secrets');
  }
  if (config.appSecret === config.jwt.accessSecret || config.appSecret === config.jwt.refreshSecret) {
    problems.push('APP_SECRET must differ from the JWT secrets (each secret has one purpose)');
  }
  if (config.dbTimeouts.lockSeconds > config.dbTimeouts.statementSeconds) {
    // a lock wait is part of a statement: past the statement bound it could never time out as a (retried) lock wait
    problems.push('DB_LOCK_TIMEOUT must not exceed DB_STATEMENT_TIMEOUT');
  }
  if (config.jwt.refreshTtl > config.jwt.refreshAbsoluteTtl) {
    problems.push('JWT_REFRESH_TTL must not exceed JWT_REFRESH_ABSOLUTE_TTL');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

class EnvReader {
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly problems: string[],
  ) {}

  /** An unset or empty variable takes its default. */
  raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max} (got "${value}")`);
      return fallback;
    }
    return Number(value);
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    this.problems.push(`${name} must be true or false (got "${value}")`);
    return fallback;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
      return fallback;
    }
    return value as T;
  }
}

function parseDatabaseUrl(value: string, read: EnvReader, problems: string[]): DatabaseConfig {
  if (value.startsWith('sqlite:')) {
    const file = value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file === '') problems.push('DATABASE_URL sqlite: needs a file path, e.g. sqlite:data/app.sqlite');
    return { kind: 'sqlite', file };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push('DATABASE_URL must be mysql://user:pass@host:3306/db or sqlite:<file> (not a valid URL)');
    return { kind: 'sqlite', file: 'data/app.sqlite' };
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    problems.push(`DATABASE_URL has an unsupported scheme "${url.protocol}" (use mysql:// or sqlite:)`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_$-]{1,64}$/.test(database)) {
    problems.push('DATABASE_URL must name a database, e.g. mysql://root@127.0.0.1:3306/app');
  }
  url.protocol = 'mysql:';
  return { kind: 'mysql', url: url.toString(), database, poolSize: read.integer('DB_POOL_SIZE', 10, 1, 1000) };
}

function parseRedisUrl(value: string | undefined, problems: string[]): string | null {
  const trimmed = value?.trim();
  if (!trimmed) return null;
  try {
    const url = new URL(trimmed);
    if (url.protocol === 'redis:' || url.protocol === 'rediss:') return trimmed;
  } catch {
    // reported below
  }
  problems.push('REDIS_URL must be redis://host:6379/0 or rediss://…');
  return null;
}

function parseSmtpUrl(value: string | undefined, problems: string[]): string | null {
  const trimmed = value?.trim();
  if (!trimmed) return null;
  try {
    const url = new URL(trimmed);
    if ((url.protocol === 'smtp:' || url.protocol === 'smtps:') && url.hostname) return trimmed;
  } catch {
    // reported below
  }
  // never echo the value: it may hold the SMTP password
  problems.push('SMTP_URL must be smtp://user:pass@host:587 or smtps://user:pass@host:465');
  return null;
}

function parseAppUrl(value: string, problems: string[]): string {
  try {
    const url = new URL(value);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && !url.search && !url.hash && !url.username && !url.password) {
      return url.toString().replace(/\/+$/, '');
    }
  } catch {
    // reported below
  }
  problems.push(`APP_URL must be an http(s) origin, optionally with a path, e.g. https://app.example.com (got "${value}")`);
  return 'http://localhost:3000';
}

function readSecret(env: NodeJS.ProcessEnv, name: string, production: boolean, problems: string[]): string {
  const value = env[name]?.trim();
  if (!value) {
    if (production) problems.push(`${name} must be set when NODE_ENV=production`);
    // Outside production a random secret per start keeps zero set-up working; tokens die with the process.
    return randomBytes(32).toString('base64url');
  }
  if (production && value.length < MIN_PRODUCTION_SECRET_LENGTH) {
    problems.push(`${name} must be at least ${MIN_PRODUCTION_SECRET_LENGTH} characters when NODE_ENV=production`);
  }
  return value;
}

function parseTrustProxy(value: string | undefined, problems: string[]): TrustProxy {
  const trimmed = value?.trim().toLowerCase();
  if (!trimmed || trimmed === 'false') return false;
  if (trimmed === 'true') return true;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const entries = trimmed.split(',').map((entry) => entry.trim());
  const bad = entries.filter((entry) => !isIpOrCidr(entry));
  if (bad.length > 0) {
    problems.push(`TRUST_PROXY must be true, false, a hop count or comma-separated IPs/CIDRs (bad: ${bad.join(', ')})`);
    return false;
  }
  return entries;
}

function isIpOrCidr(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

function readAdmin(env: NodeJS.ProcessEnv, problems: string[]): AppConfig['admin'] {
  const email = env.ADMIN_EMAIL?.trim().toLowerCase();
  const password = env.ADMIN_PASSWORD;
  if (!email && !password) return null;
  if (!email || !password) {
    problems.push('ADMIN_EMAIL and ADMIN_PASSWORD must be set together');
    return null;
  }
  if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 254) problems.push('ADMIN_EMAIL must be an email address');
  if (password.length < 8 || password.length > 128) problems.push('ADMIN_PASSWORD must be 8 to 128 characters');
  else if (isCommonPassword(password)) problems.push('ADMIN_PASSWORD is one of the most common passwords; choose another');
  return { email, password };
}

function parseCorsOrigins(value: string | undefined, problems: string[]): string[] | null {
  const trimmed = value?.trim();
  if (!trimmed) return null;
  const origins = trimmed.split(',').map((origin) => origin.trim());
  for (const origin of origins) {
    if (origin === '*') continue;
    try {
      const url = new URL(origin);
      if (url.origin !== origin) throw new Error('not an origin');
    } catch {
      problems.push(`CORS_ORIGINS entries must be origins like https://app.example.com or * (bad: ${origin})`);
    }
  }
  return origins;
}
