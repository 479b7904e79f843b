// npm run bench: the built app against two references in the same run, on the database and
// cache the environment names (DATABASE_URL / REDIS_URL; the embedded default otherwise):
//   baseline  bench/baseline.mjs: bare Fastify + mysql2/better-sqlite3 + node-redis, same work;
//   floor     bench/floor.mjs: minimal Nest 12 + Fastify, the app's envelope interceptor and one
//             global guard (JWT verify + one cache read of the caller), same work.
// Rounds alternate (app, baseline, floor) × BENCH_ROUNDS per scenario; medians are reported.
// Servers and the load generator (autocannon, in this process) are pinned to different CPUs
// when taskset exists. Each run uses a fresh database (dropped afterwards) and its own Redis key
// prefix (deleted afterwards). Prints a table and the targets, writes bench/results/latest.json.
// Any unexpected non-2xx answer, error or broken invariant invalidates the run: exit 1.
//
//   BENCH_SCENARIOS=read,live,ready,transfers,deep,memory   (default: all)
//   BENCH_ROUNDS (3)  BENCH_DURATION (10 s)  BENCH_WARMUP (2 s)  BENCH_CONNECTIONS (50)
//   BENCH_MEMORY_SECONDS (120)  BENCH_DEEP_ROWS (200000)  BENCH_DEEP_DEPTH (100000)
//   BENCH_DEEP_SAMPLES (200)  BENCH_PIN=0 (no pinning)  BENCH_QUICK=1 (1 round of 3 s, short
//   memory and deep-page samples: a smoke test of the runner, not figures)
import autocannon from 'autocannon';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireBuilt, uuidv7At } from './common.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.env.BENCH_QUICK === '1';
const number = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
const config = {
  rounds: number('BENCH_ROUNDS', quick ? 1 : 3),
  duration: number('BENCH_DURATION', quick ? 3 : 10),
  warmup: number('BENCH_WARMUP', 2),
  connections: number('BENCH_CONNECTIONS', 50),
  transferConnections: 50,
  transferAccounts: 10,
  memorySeconds: number('BENCH_MEMORY_SECONDS', quick ? 15 : 120),
  memoryConnections: 64,
  deepRows: number('BENCH_DEEP_ROWS', 200_000),
  deepDepth: number('BENCH_DEEP_DEPTH', 100_000),
  deepLimit: 50,
  deepSamples: number('BENCH_DEEP_SAMPLES', quick ? 30 : 200),
  deepConnections: 4,
};
const ALL_SCENARIOS = ['read', 'live', 'ready', 'transfers', 'deep', 'memory'];
const selected = new Set(
  (process.env.BENCH_SCENARIOS || ALL_SCENARIOS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
for (const name of selected)
  if (!ALL_SCENARIOS.includes(name)) throw new Error(`BENCH_SCENARIOS: unknown scenario "${name}" (known: ${ALL_SCENARIOS.join(', ')})`);
if (config.deepDepth % config.deepLimit !== 0 || config.deepDepth + config.deepLimit > config.deepRows) {
  throw new Error('BENCH_DEEP_DEPTH must be a multiple of 50 and leave a full page below it in BENCH_DEEP_ROWS');
}

const DEPOSIT = 1_000_000_000; // per transfer account: no transfer of at most 5 000 runs out of money
const runId = randomBytes(4).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'bench-'));
const problems = []; // anything here invalidates the run
const warnings = [];
const say = (line) => console.log(line);

// ---------------------------------------------------------------------------------------------
// pinning: servers on one set of CPUs, this process (the load generator) on the others

function affinityOf(pid) {
  const out = execFileSync('taskset', ['-cp', String(pid)], { encoding: 'utf8' });
  const list = out.split(':').pop().trim();
  return list.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

function pin() {
  if (process.env.BENCH_PIN === '0') return { servers: null, note: 'not pinned (BENCH_PIN=0)' };
  if (spawnSync('taskset', ['-V']).status !== 0) return { servers: null, note: 'not pinned (no taskset)' };
  const allowed = affinityOf(process.pid);
  if (allowed.length < 2) return { servers: null, note: `not pinned (one CPU: ${allowed.join(',')})` };
  const half = Math.floor(allowed.length / 2);
  const load = allowed.slice(0, half).join(',');
  const servers = allowed.slice(half).join(',');
  execFileSync('taskset', ['-a', '-cp', load, String(process.pid)], { stdio: 'ignore' });
  return {
    servers,
    load,
    note: `servers on CPU ${servers}, load generator (autocannon, this process) on CPU ${load}; MariaDB and Redis not pinned`,
  };
}
const pinning = pin();

// ---------------------------------------------------------------------------------------------
// a fresh database for this run, and a direct connection for seeding and invariant checks

let databaseUrl;
let dropDatabase = async () => {};
let direct; // { query(sql, params), close() }
if (process.env.DATABASE_URL?.startsWith('mysql')) {
  const mysql = await import('mysql2/promise');
  const server = new URL(process.env.DATABASE_URL);
  server.pathname = '/';
  const admin = await mysql.createConnection(server.toString());
  await admin.query(`CREATE DATABASE bench_${runId}`);
  await admin.end();
  const url = new URL(process.env.DATABASE_URL);
  url.pathname = `/bench_${runId}`;
  databaseUrl = url.toString();
  const pool = mysql.createPool({ uri: databaseUrl, connectionLimit: 2, timezone: 'Z' });
  direct = { query: async (sql, params) => (await pool.query(sql, params))[0], close: () => pool.end() };
  dropDatabase = async () => {
    const connection = await mysql.createConnection(server.toString());
    await connection.query(`DROP DATABASE IF EXISTS bench_${runId}`);
    await connection.end();
  };
} else {
  databaseUrl = `sqlite:${join(work, 'bench.sqlite')}`;
}
const openDirectSqlite = async () => {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(databaseUrl.slice('sqlite:'.length), { timeout: 10_000 });
  return { db, query: async (sql, params = []) => db.prepare(sql).all(...params), close: async () => db.close() };
};
const isMysql = databaseUrl.startsWith('mysql');
const target = `${process.env.DATABASE_URL?.split('@').pop() ?? 'sqlite (embedded)'} / ${process.env.REDIS_URL ?? 'memory cache'}`;

const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  REDIS_KEY_PREFIX: `bench:${runId}:`,
  JWT_ACCESS_SECRET: randomBytes(32).toString('base64url'),
  JWT_REFRESH_SECRET: randomBytes(32).toString('base64url'),
  APP_SECRET: randomBytes(32).toString('base64url'),
  LOG_LEVEL: 'warn',
  RATE_LIMIT: '0',
  AUTH_RATE_LIMIT: '0',
  HOST: '127.0.0.1',
  ADMIN_EMAIL: 'bench-admin@example.com',
  ADMIN_PASSWORD: 'bench-admin-password',
};
// the contract's default has the per-user limit on: a large one (nothing refused) shows its cost
const RATE_LIMITED_ENV = { RATE_LIMIT: '1000000', RATE_LIMIT_WINDOW: '1' };

// ---------------------------------------------------------------------------------------------
// servers

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const SCRIPTS = {
  // BENCH_APP: another build's entry point (an earlier commit's dist/src/main.js), for before/after figures
  app: process.env.BENCH_APP || join(root, 'dist', 'src', 'main.js'),
  baseline: join(root, 'bench', 'baseline.mjs'),
  floor: join(root, 'bench', 'floor.mjs'),
};

async function start(label, kind, extraEnv = {}) {
  const port = await freePort();
  const logFile = join(work, `${label.replace(/\W+/g, '-')}.log`);
  const fd = openSync(logFile, 'a');
  const [command, args] = pinning.servers
    ? ['taskset', ['-c', pinning.servers, process.execPath, SCRIPTS[kind]]]
    : [process.execPath, [SCRIPTS[kind]]];
  // taskset execs node: the child's pid is the server's (RSS is read from /proc/<pid>)
  const child = spawn(command, args, { cwd: work, env: { ...env, ...extraEnv, PORT: String(port) }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const server = { label, kind, port, child, logFile, exited: false };
  child.once('exit', () => (server.exited = true));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.exited) throw new Error(`${label} exited before it answered:\n${tail(logFile)}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/live`)).ok) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${label} did not come up within 60 s:\n${tail(logFile)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function tail(file, lines = 20) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function stop(server) {
  if (!server || server.exited) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
  const logged = readFileSync(server.logFile, 'utf8').trim();
  if (logged) warnings.push(`${server.label} logged ${logged.split('\n').length} line(s), the last:\n${tail(server.logFile, 5)}`);
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop().split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/** The machine's CPU ticks, busy and total, over all CPUs. */
function machineTicks() {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    return { busy: total - ticks[3] - ticks[4], total }; // idle, iowait
  } catch {
    return { busy: NaN, total: NaN };
  }
}

const percent = (seconds, over) => Math.round((seconds / over) * 100);

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]) * 1024;
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

async function api(server, method, path, token, body) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`http://127.0.0.1:${server.port}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${server.label} ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** One request with node:http, to see the exact header lines and body bytes. */
function raw(server, method, path, headers = {}, body, agent = false) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: server.port, method, path, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
    });
    request.once('error', reject);
    request.end(body);
  });
}

// ---------------------------------------------------------------------------------------------
// load

/** Runs autocannon; anything but 2xx (and the scenario's allowed statuses), errors and timeouts are problems. */
async function load(server, spec, seconds, connections, what) {
  const cpu = { server: cpuSecondsOf(server.child.pid), loadGenerator: process.cpuUsage(), machine: machineTicks() };
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}`,
    connections,
    duration: seconds,
    requests: [
      {
        method: spec.method ?? 'GET',
        path: spec.path,
        headers: spec.headers ?? {},
        ...(spec.setupRequest ? { setupRequest: spec.setupRequest } : {}),
      },
    ],
  });
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]));
  const unexpected = Object.entries(statuses).filter(([code]) => !(code.startsWith('2') || spec.allowed?.includes(Number(code))));
  if (unexpected.length > 0 || result.errors > 0 || result.timeouts > 0) {
    problems.push(`${what} on ${server.label}: statuses ${JSON.stringify(statuses)}, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  const machine = machineTicks();
  const busy = machine.busy - cpu.machine.busy;
  const loadGenerator = process.cpuUsage(cpu.loadGenerator);
  return {
    rps: Math.round(result['2xx'] / result.duration),
    // a server below ~95 % of its CPU was held back by something else (the load generator, a
    // noisy neighbour); machine CPU shows how busy both cores were, other agents' work included
    serverCpu: percent(cpuSecondsOf(server.child.pid) - cpu.server, result.duration),
    loadGeneratorCpu: percent((loadGenerator.user + loadGenerator.system) / 1e6, result.duration),
    machineCpu: Math.round((busy / (machine.total - cpu.machine.total)) * 100 * cpus().length),
    p50: result.latency.p50,
    p99: result.latency.p99,
    meanMs: result.latency.mean,
    ok: result['2xx'],
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
  };
}

const median = (values) => {
  const sorted = values.filter((v) => typeof v === 'number').sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fiveXxOf = (statuses) => Object.entries(statuses).reduce((n, [code, count]) => n + (code.startsWith('5') ? count : 0), 0);
const ratio = (a, b) => (a == null || b == null || b === 0 ? null : Math.round((a / b) * 100) / 100);

/**
 * Alternating rounds: for each round, each server in turn gets a warm-up and a measured run.
 * The medians of each server's rounds (req/s, p50, p99) are what the table and the targets use.
 */
async function rounds(name, entries, specOf, connections = config.connections) {
  const perRound = [];
  for (let round = 1; round <= config.rounds; round++) {
    for (const entry of entries) {
      const spec = specOf(entry);
      const warm = await load(entry.server, spec, config.warmup, connections, `${name} warm-up`);
      const measured = await load(entry.server, spec, config.duration, connections, name);
      perRound.push({ round, server: entry.label, ...measured, warmupOk: warm.ok, warmupStatuses: warm.statuses });
      say(
        `  ${name.padEnd(10)} round ${round}  ${entry.label.padEnd(20)} ${String(measured.rps).padStart(6)} req/s  p50 ${String(measured.p50).padStart(3)} ms  p99 ${String(measured.p99).padStart(4)} ms` +
          `   CPU % server ${measured.serverCpu}, autocannon ${measured.loadGeneratorCpu}, machine ${measured.machineCpu} of ${cpus().length * 100}`,
      );
    }
  }
  const medians = {};
  for (const entry of entries) {
    const mine = perRound.filter((r) => r.server === entry.label);
    medians[entry.label] = {
      rps: median(mine.map((r) => r.rps)),
      p50: median(mine.map((r) => r.p50)),
      p99: median(mine.map((r) => r.p99)),
      serverCpu: median(mine.map((r) => r.serverCpu)),
      otherCpu: median(mine.map((r) => r.machineCpu - r.serverCpu - r.loadGeneratorCpu)),
    };
  }
  return { connections, perRound, medians };
}

// ---------------------------------------------------------------------------------------------
// answers compared byte for byte (header names, header bytes, body bytes, body shape)

function shapeOf(value) {
  if (Array.isArray(value)) return value.length ? [shapeOf(value[0])] : [];
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).map((k) => [k, shapeOf(value[k])]));
  return value === null ? 'null' : typeof value;
}

async function compareAnswers(cases) {
  const rows = [];
  for (const { route, requests } of cases) {
    const answers = [];
    for (const { server, method, path, headers, body } of requests) {
      const res = await raw(server, method, path, headers, body);
      const names = [];
      let headerBytes = 0;
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        names.push(res.rawHeaders[i].toLowerCase());
        headerBytes += res.rawHeaders[i].length + res.rawHeaders[i + 1].length + 4; // "name: value\r\n"
      }
      let shape;
      try {
        shape = JSON.stringify(shapeOf(JSON.parse(res.body.toString('utf8'))));
      } catch {
        shape = '(not JSON)';
      }
      answers.push({ server: server.label, status: res.status, names: names.sort(), headerBytes, bodyBytes: res.body.length, shape });
    }
    const [reference] = answers;
    for (const answer of answers) {
      const notes = [];
      if (answer !== reference) {
        const missing = reference.names.filter((n) => !answer.names.includes(n));
        const extra = answer.names.filter((n) => !reference.names.includes(n));
        if (missing.length) notes.push(`lacks ${missing.join(', ')}`);
        if (extra.length) notes.push(`adds ${extra.join(', ')}`);
        if (answer.status !== reference.status) notes.push(`status ${answer.status} vs ${reference.status}`);
        if (Math.abs(answer.headerBytes - reference.headerBytes) > reference.headerBytes * 0.05) notes.push('header bytes differ > 5 %');
        if (Math.abs(answer.bodyBytes - reference.bodyBytes) > reference.bodyBytes * 0.05) notes.push('body bytes differ > 5 %');
        if (answer.shape !== reference.shape) notes.push('body shape differs');
        if (notes.length) warnings.push(`${route}: ${answer.server} ${notes.join('; ')} (against ${reference.server})`);
      }
      rows.push({
        route,
        server: answer.server,
        status: answer.status,
        headerNames: answer.names.join(' '),
        headers: answer.names.length,
        headerBytes: answer.headerBytes,
        bodyBytes: answer.bodyBytes,
        same: notes.length ? notes.join('; ') : answer === reference ? '(reference)' : 'yes',
      });
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// the ledger, read directly: balances of a set and its transfer rows, once they stop moving

async function ledgerState(ids) {
  const marks = ids.map(() => '?').join(', ');
  const rows = await direct.query(`SELECT id, balance FROM accounts WHERE id IN (${marks}) ORDER BY id`, ids);
  const [{ n }] = await direct.query(
    `SELECT COUNT(*) AS n FROM transactions WHERE type = 'transfer' AND from_account_id IN (${marks})`,
    ids,
  );
  const sums = new Map(ids.map((id) => [id, 0]));
  for (const side of ['to_account_id', 'from_account_id']) {
    const sign = side === 'to_account_id' ? 1 : -1;
    const moved = await direct.query(
      `SELECT ${side} AS id, SUM(amount) AS total FROM transactions WHERE ${side} IN (${marks}) GROUP BY ${side}`,
      ids,
    );
    for (const row of moved) sums.set(row.id, sums.get(row.id) + sign * Number(row.total));
  }
  return {
    balances: rows.map((r) => Number(r.balance)),
    transfers: Number(n),
    // accounts whose balance is not what their ledger rows (deposits in, transfers in and out) add up to
    unreconciled: rows.filter((r) => Number(r.balance) !== sums.get(r.id)).length,
  };
}

async function settledLedgerState(ids) {
  // transfers still in flight when autocannon stopped may commit after it: poll until two reads agree
  let state = await ledgerState(ids);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const again = await ledgerState(ids);
    if (JSON.stringify(again) === JSON.stringify(state)) return state;
    state = again;
  }
  problems.push('the ledger did not settle within 30 s after the transfer runs');
  return state;
}

// ---------------------------------------------------------------------------------------------
// the run

const startedAt = new Date();
const load0 = loadavg();
const git = (() => {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean).length;
    return `${commit}${changed ? ` + ${changed} uncommitted change(s) under src/` : ''}`;
  } catch {
    return 'unknown';
  }
})();
say(
  `bench: node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${load0.map((l) => l.toFixed(2)).join(' ')}`,
);
say(`app: dist/ (working tree at ${git}); database/cache: ${target}`);
say(`pinning: ${pinning.note}`);
say(
  `method: ${config.rounds} alternating round(s) per scenario, ${config.warmup} s warm-up + ${config.duration} s measured per server and round, ` +
    `${config.connections} connections (transfers ${config.transferConnections}); medians reported${quick ? ' — BENCH_QUICK: a smoke test, not figures' : ''}`,
);
say(`scenarios: ${[...selected].join(', ')}`);

const servers = {};
const report = { at: startedAt.toISOString(), node: process.version, git, target, pinning: pinning.note, config, scenarios: {} };
let exitCode = 0;
try {
  servers.app = await start('app', 'app'); // migrates the fresh database
  if (!isMysql) direct = await openDirectSqlite();
  servers.baseline = await start('baseline', 'baseline');
  servers.floor = await start('floor', 'floor');
  if (selected.has('read')) servers.appRateLimited = await start('app (rate limit on)', 'app', RATE_LIMITED_ENV);
  const appServer = servers.app;

  const password = 'bench-password-1';
  const user = (
    await api(appServer, 'POST', '/api/v1/auth/register', null, { email: `bench-${runId}@example.com`, password, name: 'Bench' })
  ).data;
  const { accessToken } = (await api(appServer, 'POST', '/api/v1/auth/login', null, { email: user.email, password })).data;
  const adminToken = (await api(appServer, 'POST', '/api/v1/auth/login', null, { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }))
    .data.accessToken;
  const auth = { authorization: `Bearer ${accessToken}` };

  const createAccounts = async (count, label, deposit) => {
    const ids = [];
    for (let i = 0; i < count; i++) {
      const account = (await api(appServer, 'POST', '/api/v1/accounts', accessToken, { name: `${label} ${i}`, currency: 'EUR' })).data;
      if (deposit) await api(appServer, 'POST', `/api/v1/accounts/${account.id}/deposits`, adminToken, { amount: deposit });
      ids.push(account.id);
    }
    return ids;
  };
  // each server moves money within its own accounts, so each set's invariant is its own
  const transferSets = {};
  if (selected.has('transfers')) {
    for (const label of ['app', 'baseline']) transferSets[label] = await createAccounts(config.transferAccounts, `bench ${label}`, DEPOSIT);
  }
  const transferBody = (ids) => {
    const from = Math.floor(Math.random() * ids.length);
    const to = (from + 1 + Math.floor(Math.random() * (ids.length - 1))) % ids.length;
    return JSON.stringify({ fromAccountId: ids[from], toAccountId: ids[to], amount: 1 + Math.floor(Math.random() * 5_000) });
  };
  const transferChecks = { app: 0, baseline: 0 }; // transfers made by the answer check

  // ---- same answers from every server
  const readPath = `/api/v1/users/${user.id}`;
  const jsonHeaders = { ...auth, 'content-type': 'application/json' };
  const cases = [
    {
      route: 'GET /api/v1/users/:id',
      requests: ['app', 'baseline', 'floor', 'appRateLimited']
        .filter((k) => servers[k])
        .map((k) => ({ server: servers[k], method: 'GET', path: readPath, headers: auth })),
    },
    {
      route: 'GET /health/live',
      requests: ['app', 'baseline', 'floor'].map((k) => ({ server: servers[k], method: 'GET', path: '/health/live' })),
    },
    {
      route: 'GET /health/ready',
      requests: ['app', 'baseline'].map((k) => ({ server: servers[k], method: 'GET', path: '/health/ready' })),
    },
  ];
  if (selected.has('transfers')) {
    cases.push({
      route: 'POST /api/v1/transfers',
      requests: ['app', 'baseline'].map((k) => {
        transferChecks[k] += 1;
        const ids = transferSets[k];
        return {
          server: servers[k],
          method: 'POST',
          path: '/api/v1/transfers',
          headers: jsonHeaders,
          body: JSON.stringify({ fromAccountId: ids[0], toAccountId: ids[1], amount: 1 }),
        };
      }),
    });
  }
  const comparison = await compareAnswers(cases);
  report.comparison = comparison;
  say('\nanswers compared (app is the reference; headers = header lines; bytes as sent):');
  console.table(comparison, ['route', 'server', 'status', 'headers', 'headerBytes', 'bodyBytes', 'same']);
  say(`header lines of the app's cached read: ${comparison[0]?.headerNames}`);
  for (const row of comparison)
    if (row.route === 'POST /api/v1/transfers' && row.status !== 201)
      problems.push(`answer check: ${row.server} transfer gave ${row.status}`);

  const readSpec = { path: readPath, headers: auth };
  const table = [];
  const addRows = (scenario, result, labels) => {
    for (const label of labels) {
      const m = result.medians[label];
      table.push({
        scenario,
        server: label,
        'req/s': m?.rps ?? '-',
        'p50 ms': m?.p50 ?? '-',
        'p99 ms': m?.p99 ?? '-',
        // a server well below 100 % of its CPU was held back; "other" is everything but the
        // server and autocannon (MariaDB, Redis, other work on the machine)
        'server CPU %': m?.serverCpu ?? '-',
        'other CPU %': m?.otherCpu ?? '-',
        'app/baseline': label.startsWith('app') ? (ratio(m?.rps, result.medians.baseline?.rps) ?? '-') : '',
        'app/floor': label.startsWith('app') ? (ratio(m?.rps, result.medians.floor?.rps) ?? '-') : '',
      });
    }
  };

  if (selected.has('read')) {
    say('\ncached read GET /api/v1/users/:id (own id, cache warm):');
    const entries = ['app', 'baseline', 'floor', 'appRateLimited'].map((k) => ({ label: servers[k].label, server: servers[k] }));
    const result = await rounds('read', entries, () => readSpec);
    await stop(servers.appRateLimited);
    report.scenarios.read = result;
    addRows('cached read', result, ['app', 'baseline', 'floor', 'app (rate limit on)']);
  }

  if (selected.has('live')) {
    say('\nliveness GET /health/live:');
    const entries = ['app', 'baseline', 'floor'].map((k) => ({ label: k, server: servers[k] }));
    const result = await rounds('live', entries, () => ({ path: '/health/live' }));
    report.scenarios.live = result;
    addRows('liveness', result, ['app', 'baseline', 'floor']);
  }

  if (selected.has('ready')) {
    say('\nreadiness GET /health/ready (floor: -):');
    const entries = ['app', 'baseline'].map((k) => ({ label: k, server: servers[k] }));
    const result = await rounds('ready', entries, () => ({ path: '/health/ready' }));
    report.scenarios.ready = result;
    addRows('readiness', result, ['app', 'baseline', 'floor']);
  }

  if (selected.has('transfers')) {
    say(
      `\ncontended transfers POST /api/v1/transfers (${config.transferAccounts} accounts per server, ${config.transferConnections} connections; floor: -):`,
    );
    const entries = ['app', 'baseline'].map((k) => ({ label: k, server: servers[k] }));
    const specOf = (entry) => ({
      method: 'POST',
      path: '/api/v1/transfers',
      headers: { 'content-type': 'application/json', ...auth },
      setupRequest: (request) => ({ ...request, body: transferBody(transferSets[entry.label]) }),
      allowed: [422],
    });
    const result = await rounds('transfers', entries, specOf, config.transferConnections);
    report.scenarios.transfers = result;
    addRows('transfers', result, ['app', 'baseline', 'floor']);
    // the invariant, per server's set: the sum of balances is the deposits, none is negative, no
    // 5xx (any would already invalidate the run), every balance is what its ledger rows add up
    // to (a transfer without its row, or a row without its transfer, shows), and there are at
    // least as many rows as 201s (warm-ups and the answer check included), at most that plus the
    // requests in flight when each run stopped (autocannon drops their answers)
    result.invariant = {};
    for (const label of ['app', 'baseline']) {
      const runs = result.perRound.filter((r) => r.server === label);
      const answered201 = runs.reduce((n, r) => n + r.ok + r.warmupOk, 0) + transferChecks[label];
      const fiveXx = runs.reduce((n, r) => n + fiveXxOf(r.statuses) + fiveXxOf(r.warmupStatuses), 0);
      const state = await settledLedgerState(transferSets[label]);
      const total = state.balances.reduce((a, b) => a + b, 0);
      const inFlight = runs.length * 2 * config.transferConnections;
      const inv = {
        total,
        expected: config.transferAccounts * DEPOSIT,
        negative: state.balances.filter((b) => b < 0).length,
        fiveXx,
        rejected422: runs.reduce((n, r) => n + (r.statuses['422'] ?? 0) + (r.warmupStatuses['422'] ?? 0), 0),
        answered201,
        ledgerRows: state.transfers,
        unreconciled: state.unreconciled,
      };
      inv.holds =
        inv.total === inv.expected &&
        inv.negative === 0 &&
        inv.fiveXx === 0 &&
        inv.unreconciled === 0 &&
        inv.ledgerRows >= answered201 &&
        inv.ledgerRows <= answered201 + inFlight;
      if (!inv.holds) problems.push(`transfers invariant broken on ${label}'s accounts: ${JSON.stringify(inv)}`);
      result.invariant[label] = inv;
      say(
        `  invariant (${label}'s accounts): sum ${total} of ${inv.expected}, ${inv.negative} negative, ${fiveXx} 5xx, ${inv.rejected422} 422, ${inv.ledgerRows} ledger rows for ${answered201} 201s, ${inv.unreconciled} balance(s) off their ledger: ${inv.holds ? 'holds' : 'BROKEN'}`,
      );
    }
  }

  if (selected.has('deep')) {
    report.scenarios.deep = await deepPages(appServer, accessToken);
  }

  // ---- memory: fresh processes, one after the other, RSS sampled every second
  if (selected.has('memory')) {
    for (const key of ['app', 'baseline', 'floor']) {
      await stop(servers[key]);
      servers[key] = null;
    }
    say(
      `\nmemory under the cached read (${config.memoryConnections} connections, ${config.memorySeconds} s; fresh processes, app then baseline):`,
    );
    const memory = {};
    for (const kind of ['app', 'baseline']) {
      const server = await start(`${kind} (memory)`, kind);
      servers.memory = server;
      const idle = rssOf(server.child.pid);
      await load(server, readSpec, config.warmup, config.memoryConnections, 'memory warm-up');
      const samples = [];
      const sampler = setInterval(() => {
        try {
          samples.push(rssOf(server.child.pid));
        } catch {
          // exited: the load run reports it
        }
      }, 1000);
      const measured = await load(server, readSpec, config.memorySeconds, config.memoryConnections, 'memory');
      clearInterval(sampler);
      await stop(server);
      servers.memory = null;
      const third = Math.floor(samples.length / 3);
      const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
      const middle = mean(samples.slice(third, 2 * third));
      const last = mean(samples.slice(2 * third));
      memory[kind] = {
        idleMb: mb(idle),
        startMb: mb(samples[0]),
        peakMb: mb(Math.max(...samples)),
        middleThirdMb: mb(middle),
        lastThirdMb: mb(last),
        flat: middle !== null && last !== null && Math.abs(last - middle) <= middle * 0.1,
        rps: measured.rps,
        samplesMb: samples.map(mb),
      };
      say(
        `  ${kind.padEnd(9)} idle ${memory[kind].idleMb} MB, start ${memory[kind].startMb}, peak ${memory[kind].peakMb}, middle third ${memory[kind].middleThirdMb}, last third ${memory[kind].lastThirdMb} (${memory[kind].flat ? 'flat' : 'NOT flat'}), ${measured.rps} req/s`,
      );
    }
    memory.peakRatio = ratio(memory.app.peakMb, memory.baseline.peakMb);
    memory.lastThirdRatio = ratio(memory.app.lastThirdMb, memory.baseline.lastThirdMb);
    report.scenarios.memory = memory;
  }

  // ---- the table and the targets
  say(`\nresults (medians of ${config.rounds} round(s); ${config.duration} s each; ${target}; ${pinning.note}):`);
  console.table(table);
  const s = report.scenarios;
  const targets = [];
  const check = (name, value, goal, met) =>
    targets.push({ target: name, value: value ?? '-', goal, status: value == null ? '-' : met ? 'met' : 'MISSED' });
  if (s.read) {
    const m = s.read.medians;
    check('cached read: app / baseline req/s', ratio(m.app.rps, m.baseline.rps), '>= 0.70', ratio(m.app.rps, m.baseline.rps) >= 0.7);
    check('cached read: app / floor req/s', ratio(m.app.rps, m.floor.rps), '>= 0.90', ratio(m.app.rps, m.floor.rps) >= 0.9);
    check(
      'cached read, rate limit on: app / baseline (info)',
      ratio(m['app (rate limit on)'].rps, m.baseline.rps),
      '(default config)',
      true,
    );
  }
  if (s.transfers) {
    const m = s.transfers.medians;
    check('transfers: app / baseline transfers/s', ratio(m.app.rps, m.baseline.rps), '>= 0.80', ratio(m.app.rps, m.baseline.rps) >= 0.8);
    check('transfers: app p99 / baseline p99', ratio(m.app.p99, m.baseline.p99), '<= 1.5', ratio(m.app.p99, m.baseline.p99) <= 1.5);
    for (const [label, inv] of Object.entries(s.transfers.invariant))
      check(`transfers: invariant (${label}'s accounts)`, inv.holds ? 'holds' : 'BROKEN', 'holds', inv.holds);
  }
  if (s.live)
    check(
      'liveness: app / baseline req/s',
      ratio(s.live.medians.app.rps, s.live.medians.baseline.rps),
      '>= 0.60',
      ratio(s.live.medians.app.rps, s.live.medians.baseline.rps) >= 0.6,
    );
  if (s.deep) check(`history page at depth ${config.deepDepth}: deep / first ms`, s.deep.ratio, '<= 1.2', s.deep.ratio <= 1.2);
  if (s.memory) {
    check('memory: app / baseline peak RSS', s.memory.peakRatio, '<= 1.5', s.memory.peakRatio <= 1.5);
    check('memory: app / baseline last-third RSS', s.memory.lastThirdRatio, '<= 1.5', s.memory.lastThirdRatio <= 1.5);
    check('memory: app flat (last third within 10 % of middle)', s.memory.app.flat ? 'flat' : 'not flat', 'flat', s.memory.app.flat);
  }
  say('\ntargets:');
  console.table(targets);
  report.table = table;
  report.targets = targets;
} catch (error) {
  problems.push(`the run failed: ${error.stack ?? error}`);
} finally {
  for (const server of Object.values(servers)) await stop(server).catch(() => {});
  await direct?.close().catch(() => {});
  await cleanRedis().catch((error) => warnings.push(`Redis keys of this run not deleted: ${error.message}`));
  await dropDatabase().catch((error) => warnings.push(`database bench_${runId} not dropped: ${error.message}`));
  rmSync(work, { recursive: true, force: true });
}

const load1 = loadavg();
report.loadAverage = { start: load0, end: load1 };
report.warnings = warnings;
report.problems = problems;
report.valid = problems.length === 0;
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'latest.json'), JSON.stringify(report, null, 2));
say(`load average at the end: ${load1.map((l) => l.toFixed(2)).join(' ')} (other work on the machine makes figures noisy)`);
for (const warning of warnings) say(`warning: ${warning}`);
say('written: bench/results/latest.json');
if (problems.length > 0) {
  console.error(`\nthe run is not valid:\n- ${problems.join('\n- ')}`);
  exitCode = 1;
}
process.exit(exitCode);

// ---------------------------------------------------------------------------------------------

function mb(bytes) {
  return bytes == null ? null : Math.round(bytes / 1024 / 1024);
}

async function cleanRedis() {
  if (!process.env.REDIS_URL) return;
  const { createClient } = await import('@redis/client');
  const redis = createClient({ url: process.env.REDIS_URL });
  await redis.connect();
  try {
    for await (const keys of redis.scanIterator({ MATCH: `${env.REDIS_KEY_PREFIX}*`, COUNT: 1000 })) if (keys.length) await redis.del(keys);
  } finally {
    await redis.close();
  }
}

/**
 * History at depth: BENCH_DEEP_ROWS ledger rows on one account, inserted directly (ids UUIDv7 in
 * increasing order, one millisecond apart, as the app's uuidv7 makes them; half deposits into
 * the account, half transfers out of it, so both sides of the history query have rows). The
 * cursor at BENCH_DEEP_DEPTH is signed the way the app signs it (its CursorCodec and KeyRing
 * from dist, key `cursor:ledger` from APP_SECRET); if the app refuses it, the runner walks there.
 * Each page's latency: the median of BENCH_DEEP_SAMPLES sequential requests (first and deep
 * alternating), then autocannon at a few connections.
 */
async function deepPages(app, token) {
  const { deepRows, deepDepth, deepLimit } = config;
  say(`\nhistory pages: ${deepRows} ledger rows on one account, first page vs the page at depth ${deepDepth} (limit ${deepLimit}):`);
  const [account] = await createAccountsFor(app, token, 'deep');
  const [sink] = await createAccountsFor(app, token, 'deep sink');
  const t0 = Date.now() - 2 * deepRows; // before anything the run creates next
  const ids = new Array(deepRows);
  const seedStarted = Date.now();
  const row = (i) => {
    ids[i] = uuidv7At(t0 + i, i & 0x3ff);
    const deposit = i % 2 === 0;
    return [ids[i], deposit ? 'deposit' : 'transfer', deposit ? null : account, deposit ? account : sink, 1, 'EUR', new Date(t0 + i)];
  };
  if (isMysql) {
    for (let start = 0; start < deepRows; start += 5000) {
      const batch = [];
      for (let i = start; i < Math.min(deepRows, start + 5000); i++) batch.push(row(i));
      await direct.query('INSERT INTO transactions (id, type, from_account_id, to_account_id, amount, currency, created_at) VALUES ?', [
        batch,
      ]);
    }
    await direct.query('UPDATE accounts SET balance = ? WHERE id = ?', [Math.ceil(deepRows / 2) - Math.floor(deepRows / 2), account]);
    await direct.query('UPDATE accounts SET balance = ? WHERE id = ?', [Math.floor(deepRows / 2), sink]);
    await direct.query('ANALYZE TABLE transactions');
  } else {
    const insert = direct.db.prepare(
      'INSERT INTO transactions (id, type, from_account_id, to_account_id, amount, currency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    direct.db.transaction(() => {
      for (let i = 0; i < deepRows; i++) {
        const values = row(i);
        values[6] = values[6].toISOString().replace('T', ' ').replace('Z', '');
        insert.run(...values);
      }
      direct.db.prepare('UPDATE accounts SET balance = ? WHERE id = ?').run(Math.ceil(deepRows / 2) - Math.floor(deepRows / 2), account);
      direct.db.prepare('UPDATE accounts SET balance = ? WHERE id = ?').run(Math.floor(deepRows / 2), sink);
    })();
    direct.db.exec('ANALYZE');
  }
  const seedSeconds = (Date.now() - seedStarted) / 1000;
  say(`  seeded in ${seedSeconds.toFixed(1)} s`);

  const base = `/api/v1/accounts/${account}/transactions?limit=${deepLimit}`;
  const first = await api(app, 'GET', base, token);
  if (first.data[0]?.id !== ids[deepRows - 1] || first.data.length !== deepLimit)
    problems.push('deep pages: the first page is not the newest rows');
  // the row just above the deep page: its id is the cursor's position
  const cursorRow = deepRows - deepDepth;
  let deepPath;
  let cursorHow;
  try {
    const { CursorCodec } = requireBuilt('core/http/cursor.js');
    const { KeyRing } = requireBuilt('core/crypto/key-ring.js');
    const codec = new CursorCodec(new KeyRing({ appSecret: env.APP_SECRET }).key('cursor:ledger'));
    const position = codec.decode(account, first.meta.cursor.next);
    const last = first.data.at(-1);
    if (position.id !== last.id) throw new Error('the cursor does not hold the last id');
    let value;
    if (position.value === null) value = null;
    else if (position.value === last.createdAt) value = new Date(t0 + cursorRow).toISOString();
    else throw new Error(`unknown cursor value ${JSON.stringify(position.value)}`);
    deepPath = `${base}&after=${encodeURIComponent(codec.encode(account, { value, id: ids[cursorRow] }))}`;
    const probe = await raw(app, 'GET', deepPath, { authorization: `Bearer ${token}` });
    if (probe.status !== 200) throw new Error(`the app answered ${probe.status} to the signed cursor`);
    cursorHow = 'signed by the runner (the app\'s CursorCodec, KeyRing "cursor:ledger")';
  } catch (error) {
    say(`  cannot sign the cursor (${error.message}): walking to depth ${deepDepth} with limit 100`);
    let next = (await api(app, 'GET', `/api/v1/accounts/${account}/transactions?limit=100`, token)).meta.cursor.next;
    for (let seen = 100; seen < deepDepth; seen += 100)
      next = (await api(app, 'GET', `/api/v1/accounts/${account}/transactions?limit=100&after=${encodeURIComponent(next)}`, token)).meta
        .cursor.next;
    deepPath = `${base}&after=${encodeURIComponent(next)}`;
    cursorHow = 'walked with limit=100';
  }
  const deep = await api(app, 'GET', deepPath, token);
  if (deep.data[0]?.id !== ids[deepRows - 1 - deepDepth] || deep.data.length !== deepLimit) {
    problems.push(`deep pages: the page at depth ${deepDepth} does not start at the expected row`);
  }

  const headers = { authorization: `Bearer ${token}` };
  const timings = { first: [], deep: [] };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 }); // one kept-alive connection: the server's time, not TCP set-up
  for (let i = 0; i < config.deepSamples; i++) {
    for (const [name, path] of [
      ['first', base],
      ['deep', deepPath],
    ]) {
      const t = process.hrtime.bigint();
      const res = await raw(app, 'GET', path, headers, undefined, agent);
      timings[name].push(Number(process.hrtime.bigint() - t) / 1e6);
      if (res.status !== 200) problems.push(`deep pages: ${name} page answered ${res.status}`);
    }
  }
  agent.destroy();
  const firstMs = Math.round(median(timings.first) * 100) / 100;
  const deepMs = Math.round(median(timings.deep) * 100) / 100;
  const loaded = {};
  for (const [name, path] of [
    ['first', base],
    ['deep', deepPath],
  ]) {
    loaded[name] = await load(app, { path, headers }, config.duration, config.deepConnections, `deep pages (${name})`);
  }
  const result = {
    rows: deepRows,
    depth: deepDepth,
    limit: deepLimit,
    seedSeconds,
    cursor: cursorHow,
    samples: config.deepSamples,
    firstMs,
    deepMs,
    ratio: ratio(deepMs, firstMs),
    autocannon: {
      connections: config.deepConnections,
      first: loaded.first,
      deep: loaded.deep,
      rpsRatio: ratio(loaded.first.rps, loaded.deep.rps),
    },
  };
  say(`  cursor ${cursorHow}`);
  say(`  sequential (median of ${config.deepSamples}): first page ${firstMs} ms, depth ${deepDepth} ${deepMs} ms, ratio ${result.ratio}`);
  say(
    `  autocannon (${config.deepConnections} connections, ${config.duration} s): first ${loaded.first.rps} req/s p50 ${loaded.first.p50} ms p99 ${loaded.first.p99} ms;` +
      ` deep ${loaded.deep.rps} req/s p50 ${loaded.deep.p50} ms p99 ${loaded.deep.p99} ms`,
  );
  return result;
}

async function createAccountsFor(app, token, name) {
  return [(await api(app, 'POST', '/api/v1/accounts', token, { name, currency: 'EUR' })).data.id];
}
