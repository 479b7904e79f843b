// npm run bench: autocannon against the built app and the bare baseline (bench/baseline.mjs),
// scenario by scenario in the same run, on the database and cache the environment names
// (DATABASE_URL / REDIS_URL; the embedded default otherwise). Each run uses a fresh database
// (dropped afterwards) and its own Redis key prefix. Prints a table, writes bench/results/latest.json.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const duration = Number(process.env.BENCH_DURATION || 10);
const connections = Number(process.env.BENCH_CONNECTIONS || 50);
const id = randomBytes(4).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'bench-'));

// a fresh database for this run
let databaseUrl;
let dropDatabase = async () => {};
if (process.env.DATABASE_URL?.startsWith('mysql')) {
  const mysql = await import('mysql2/promise');
  const server = new URL(process.env.DATABASE_URL);
  server.pathname = '/';
  const admin = await mysql.createConnection(server.toString());
  await admin.query(`CREATE DATABASE bench_${id}`);
  await admin.end();
  const url = new URL(process.env.DATABASE_URL);
  url.pathname = `/bench_${id}`;
  databaseUrl = url.toString();
  dropDatabase = async () => {
    const connection = await mysql.createConnection(server.toString());
    await connection.query(`DROP DATABASE IF EXISTS bench_${id}`);
    await connection.end();
  };
} else {
  databaseUrl = `sqlite:${join(work, 'bench.sqlite')}`;
}

const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  REDIS_KEY_PREFIX: `bench:${id}:`,
  JWT_ACCESS_SECRET: randomBytes(32).toString('base64url'),
  JWT_REFRESH_SECRET: randomBytes(32).toString('base64url'),
  LOG_LEVEL: 'warn',
  RATE_LIMIT: '0',
  AUTH_RATE_LIMIT: '0',
  HOST: '127.0.0.1',
  ADMIN_EMAIL: 'bench-admin@example.com',
  ADMIN_PASSWORD: 'bench-admin-password',
};

function start(script, port) {
  return spawn(process.execPath, [script], { cwd: work, env: { ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function waitUntilUp(port) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/live`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server on ${port} did not come up`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function post(port, path, body) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()).data;
}

async function call(port, method, path, token, body) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()).data;
}

/**
 * Transfers under contention: ACCOUNTS accounts of one owner, CONNECTIONS clients moving random
 * amounts between random pairs (both directions). Afterwards the invariant is checked: the sum
 * of balances equals the deposits, no balance is negative, and no request got a 5xx.
 */
async function transfersScenario(port, accessToken, adminToken) {
  const ACCOUNTS = 10;
  const DEPOSIT = 1_000_000;
  const ids = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    const account = await call(port, 'POST', '/api/v1/accounts', accessToken, { name: `bench ${i}`, currency: 'EUR' });
    await call(port, 'POST', `/api/v1/accounts/${account.id}/deposits`, adminToken, { amount: DEPOSIT });
    ids.push(account.id);
  }
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: 40,
    duration,
    requests: [
      {
        method: 'POST',
        path: '/api/v1/transfers',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
        setupRequest: (request) => {
          const from = Math.floor(Math.random() * ACCOUNTS);
          const to = (from + 1 + Math.floor(Math.random() * (ACCOUNTS - 1))) % ACCOUNTS;
          return { ...request, body: JSON.stringify({ fromAccountId: ids[from], toAccountId: ids[to], amount: 1 + Math.floor(Math.random() * 5_000) }) };
        },
      },
    ],
  });
  // autocannon stops sending at the deadline, but up to 40 transfers are still committing: read
  // until two full rounds agree (each balance read is committed state; the set must be quiescent)
  const readAll = () => Promise.all(ids.map(async (id) => (await call(port, 'GET', `/api/v1/accounts/${id}`, accessToken)).balance));
  let balances = await readAll();
  for (let settled = false, deadline = Date.now() + 10_000; !settled && Date.now() < deadline; ) {
    const again = await readAll();
    settled = again.every((b, i) => b === balances[i]);
    balances = again;
  }
  const total = balances.reduce((a, b) => a + b, 0);
  const fiveXx = result['5xx'];
  return {
    transfersPerSecond: Math.round(result['2xx'] / duration),
    p99Ms: result.latency.p99,
    rejected422: result['4xx'],
    fiveXx,
    invariant: total === ACCOUNTS * DEPOSIT && balances.every((b) => b >= 0) && fiveXx === 0 && result.errors === 0 ? 'holds' : `BROKEN (total ${total})`,
  };
}

async function measure(port, path, headers) {
  const url = `http://127.0.0.1:${port}${path}`;
  await autocannon({ url, headers, connections, duration: 2 }); // warm-up: JIT, pools, cache
  const result = await autocannon({ url, headers, connections, duration });
  return { rps: Math.round(result.requests.average), p99: result.latency.p99, failures: result.non2xx + result.errors + result.timeouts };
}

async function stop(child) {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

const app = start(join(root, 'dist', 'src', 'main.js'), 3101); // migrates the fresh database
await waitUntilUp(3101);
const baseline = start(join(root, 'bench', 'baseline.mjs'), 3100);
await waitUntilUp(3100);
const rows = [];
try {
  const user = await post(3101, '/api/v1/auth/register', { email: `bench-${id}@example.com`, password: 'bench-password-1', name: 'Bench' });
  const { accessToken } = await post(3101, '/api/v1/auth/login', { email: user.email, password: 'bench-password-1' });
  const scenarios = [
    { name: 'GET /api/v1/users/:id (JWT, user state + user from cache)', path: `/api/v1/users/${user.id}`, headers: { authorization: `Bearer ${accessToken}` } },
    { name: 'GET /health/live (request pipeline, envelope)', path: '/health/live' },
    { name: 'GET /health/ready (database ping + cache ping)', path: '/health/ready' },
  ];
  const target = `${process.env.DATABASE_URL?.split('@').pop() ?? 'sqlite (embedded)'} / ${process.env.REDIS_URL ?? 'memory cache'}`;
  console.log(`bench: ${duration}s x ${connections} connections; database/cache: ${target}; node ${process.version}`);
  for (const scenario of scenarios) {
    const bare = await measure(3100, scenario.path, scenario.headers);
    const ours = await measure(3101, scenario.path, scenario.headers);
    rows.push({
      scenario: scenario.name,
      baselineRps: bare.rps,
      appRps: ours.rps,
      ratio: +(ours.rps / bare.rps).toFixed(2),
      appP99Ms: ours.p99,
      failures: bare.failures + ours.failures,
    });
  }
  console.table(rows);
  const adminLogin = await post(3101, '/api/v1/auth/login', { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD });
  const transfers = await transfersScenario(3101, accessToken, adminLogin.accessToken);
  console.log(`POST /api/v1/transfers, 40 clients over 10 accounts (${duration}s):`);
  console.table([transfers]);
  if (transfers.invariant !== 'holds') rows.push({ failures: 1 });
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'latest.json'), JSON.stringify({ at: new Date().toISOString(), target, duration, connections, rows, transfers }, null, 2));
} finally {
  await Promise.all([stop(app), stop(baseline)]);
  await dropDatabase();
  rmSync(work, { recursive: true, force: true });
}
if (rows.some((row) => row.failures > 0)) {
  console.error('some requests failed: the numbers above are not valid');
  process.exit(1);
}
