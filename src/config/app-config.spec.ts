import { ConfigError, loadConfig } from './app-config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('has the contract defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      database: { kind: 'sqlite', file: 'data/app.sqlite' },
      redisUrl: null,
      migrationsRun: true,
      jwt: { accessTtl: 900, refreshTtl: 604_800, refreshAbsoluteTtl: 2_592_000 },
      rateLimit: { limit: 100, authLimit: 10, windowSeconds: 60 },
      trustProxy: false,
      cache: { ttlSeconds: 3600, negativeTtlSeconds: 60 },
      bodyLimit: 102_400,
      dbTimeouts: { lockSeconds: 5, statementSeconds: 10 },
      httpTimeouts: { requestSeconds: 30, keepAliveSeconds: 72, connectionSeconds: 120 },
      admin: null,
      corsOrigins: null,
      logLevel: 'info',
    });
  });

  it('generates two different random JWT secrets per start outside production', () => {
    const a = loadConfig({});
    const b = loadConfig({});
    expect(a.jwt.accessSecret).not.toBe(a.jwt.refreshSecret);
    expect(a.jwt.accessSecret).not.toBe(b.jwt.accessSecret);
    expect(a.jwt.accessSecret.length).toBeGreaterThanOrEqual(32);
  });

  it('generates a random APP_SECRET per start outside production, distinct from the JWT secrets', () => {
    const a = loadConfig({});
    expect(a.appSecret.length).toBeGreaterThanOrEqual(32);
    expect([a.jwt.accessSecret, a.jwt.refreshSecret]).not.toContain(a.appSecret);
    expect(loadConfig({}).appSecret).not.toBe(a.appSecret);
    expect(loadConfig({ APP_SECRET: 'given-secret' }).appSecret).toBe('given-secret');
  });

  it('reads the HTTP timeouts in seconds; 0 turns the connection timeout off', () => {
    expect(loadConfig({ HTTP_REQUEST_TIMEOUT: '5', HTTP_KEEP_ALIVE_TIMEOUT: '6', HTTP_CONNECTION_TIMEOUT: '0' }).httpTimeouts).toEqual({
      requestSeconds: 5,
      keepAliveSeconds: 6,
      connectionSeconds: 0,
    });
  });

  it('parses a MySQL URL (mysql:// or mariadb://) and keeps the database name', () => {
    expect(loadConfig({ DATABASE_URL: 'mysql://root:pw@db:3306/app' }).database).toEqual({
      kind: 'mysql',
      url: 'mysql://root:pw@db:3306/app',
      database: 'app',
      poolSize: 10,
    });
    expect(loadConfig({ DATABASE_URL: 'mariadb://root@db/app', DB_POOL_SIZE: '4' }).database).toMatchObject({
      kind: 'mysql',
      url: 'mysql://root@db/app',
      poolSize: 4,
    });
  });

  it.each([
    [{ PORT: 'abc' }, /^PORT must be an integer/],
    [{ PORT: '70000' }, /^PORT must be an integer from 0 to 65535/],
    [{ DATABASE_URL: 'postgres://h/db' }, /^DATABASE_URL has an unsupported scheme "postgres:"/],
    [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL must be/],
    [{ DATABASE_URL: 'mysql://h:3306/' }, /^DATABASE_URL must name a database/],
    [{ DATABASE_URL: 'sqlite:' }, /^DATABASE_URL sqlite: needs a file path/],
    [{ REDIS_URL: 'http://h:6379' }, /^REDIS_URL must be/],
    [{ RATE_LIMIT: '1.5' }, /^RATE_LIMIT must be an integer/],
    [{ RATE_LIMIT_WINDOW: '0' }, /^RATE_LIMIT_WINDOW must be an integer from 1/],
    [{ MIGRATIONS_RUN: 'maybe' }, /^MIGRATIONS_RUN must be true or false/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /^TRUST_PROXY must be/],
    [{ TRUST_PROXY: 'proxy.local' }, /^TRUST_PROXY must be/],
    [{ LOG_LEVEL: 'verbose' }, /^LOG_LEVEL must be one of/],
    [{ CORS_ORIGINS: 'https://a.example/path' }, /^CORS_ORIGINS entries must be origins/],
    [{ ADMIN_EMAIL: 'a@b.c' }, /^ADMIN_EMAIL and ADMIN_PASSWORD must be set together/],
    [{ ADMIN_EMAIL: 'a@b.c', ADMIN_PASSWORD: 'short' }, /^ADMIN_PASSWORD must be 8 to 128/],
    [{ ADMIN_EMAIL: 'a@b.c', ADMIN_PASSWORD: 'Password123' }, /^ADMIN_PASSWORD is one of the most common passwords/],
    [{ JWT_ACCESS_SECRET: 'same', JWT_REFRESH_SECRET: 'same' }, /must be different secrets/],
    [{ JWT_REFRESH_TTL: '100', JWT_REFRESH_ABSOLUTE_TTL: '50' }, /JWT_REFRESH_TTL must not exceed/],
    [{ HTTP_REQUEST_TIMEOUT: '0' }, /^HTTP_REQUEST_TIMEOUT must be an integer from 1 to 3600/],
    [{ HTTP_REQUEST_TIMEOUT: '1.5' }, /^HTTP_REQUEST_TIMEOUT must be an integer/],
    [{ HTTP_KEEP_ALIVE_TIMEOUT: '0' }, /^HTTP_KEEP_ALIVE_TIMEOUT must be an integer from 1 to 3600/],
    [{ HTTP_CONNECTION_TIMEOUT: '-1' }, /^HTTP_CONNECTION_TIMEOUT must be an integer from 0/],
    [{ JWT_ACCESS_SECRET: 'one', APP_SECRET: 'one' }, /^APP_SECRET must differ from the JWT secrets/],
    [{ DB_LOCK_TIMEOUT: '0' }, /^DB_LOCK_TIMEOUT must be an integer from 1 to 300/],
    [{ DB_STATEMENT_TIMEOUT: '301' }, /^DB_STATEMENT_TIMEOUT must be an integer from 1 to 300/],
    [{ DB_LOCK_TIMEOUT: '20', DB_STATEMENT_TIMEOUT: '10' }, /^DB_LOCK_TIMEOUT must not exceed DB_STATEMENT_TIMEOUT/],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(problemsOf(env)).toEqual([expect.stringMatching(message)]);
  });

  it('reports every problem at once', () => {
    expect(problemsOf({ PORT: 'x', LOG_LEVEL: 'y', BODY_LIMIT: 'z' })).toHaveLength(3);
  });

  describe('NODE_ENV=production', () => {
    const strong = { JWT_ACCESS_SECRET: 'a'.repeat(32), JWT_REFRESH_SECRET: 'b'.repeat(32), APP_SECRET: 'c'.repeat(32) };

    it('refuses missing secrets', () => {
      expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
        'JWT_ACCESS_SECRET must be set when NODE_ENV=production',
        'JWT_REFRESH_SECRET must be set when NODE_ENV=production',
        'APP_SECRET must be set when NODE_ENV=production',
      ]);
    });

    it('refuses a short APP_SECRET', () => {
      expect(problemsOf({ NODE_ENV: 'production', ...strong, APP_SECRET: 'c'.repeat(31) })).toEqual([
        'APP_SECRET must be at least 32 characters when NODE_ENV=production',
      ]);
    });

    it('refuses secrets shorter than 32 characters', () => {
      expect(problemsOf({ NODE_ENV: 'production', ...strong, JWT_REFRESH_SECRET: 'b'.repeat(31) })).toEqual([
        'JWT_REFRESH_SECRET must be at least 32 characters when NODE_ENV=production',
      ]);
    });

    it('accepts two strong, different secrets', () => {
      const config = loadConfig({ NODE_ENV: 'production', ...strong });
      expect(config.jwt).toMatchObject({
        accessSecret: strong.JWT_ACCESS_SECRET,
        refreshSecret: strong.JWT_REFRESH_SECRET,
      });
      expect(config.appSecret).toBe(strong.APP_SECRET);
    });
  });

  it.each([
    ['false', false],
    ['true', true],
    ['2', 2],
    ['10.0.0.0/8, 127.0.0.1,::1', ['10.0.0.0/8', '127.0.0.1', '::1']],
  ])('TRUST_PROXY=%s', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });
});
