// npm run bench:profile -- [read|live|ready|transfers] : the built app under load with `node --cpu-prof`,
// then where its CPU went: self time by package / source file and by function (top 25 each).
// Same environment as bench/run.mjs (DATABASE_URL / REDIS_URL, or the embedded default); a fresh
// database per run. PROFILE_SECONDS (default 10) and PROFILE_CONNECTIONS (default 50) override;
// PROFILE_OUT=<file> keeps the .cpuprofile (open it in Chrome DevTools); PROFILE_APP=<main.js> profiles
// another build (an earlier commit's dist/src/main.js). A third table gives the
// project's own functions (dist/src) with their inclusive time per request: what a call costs
// with everything it calls (libraries, node, GC excluded).
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const scenario = process.argv[2] ?? 'read';
const seconds = Number(process.env.PROFILE_SECONDS || 10);
const connections = Number(process.env.PROFILE_CONNECTIONS || 50);
const id = randomBytes(4).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'profile-'));
const port = 3199;

let databaseUrl = `sqlite:${join(work, 'profile.sqlite')}`;
let dropDatabase = async () => {};
if (process.env.DATABASE_URL?.startsWith('mysql')) {
  const mysql = await import('mysql2/promise');
  const server = new URL(process.env.DATABASE_URL);
  server.pathname = '/';
  const admin = await mysql.createConnection(server.toString());
  await admin.query(`CREATE DATABASE profile_${id}`);
  await admin.end();
  const url = new URL(process.env.DATABASE_URL);
  url.pathname = `/profile_${id}`;
  databaseUrl = url.toString();
  dropDatabase = async () => {
    const connection = await mysql.createConnection(server.toString());
    await connection.query(`DROP DATABASE IF EXISTS profile_${id}`);
    await connection.end();
  };
}

const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  REDIS_KEY_PREFIX: `profile:${id}:`,
  JWT_ACCESS_SECRET: randomBytes(32).toString('base64url'),
  JWT_REFRESH_SECRET: randomBytes(32).toString('base64url'),
  APP_SECRET: randomBytes(32).toString('base64url'),
  LOG_LEVEL: 'warn',
  RATE_LIMIT: process.env.RATE_LIMIT ?? '0',
  AUTH_RATE_LIMIT: '0',
  HOST: '127.0.0.1',
  PORT: String(port),
  ADMIN_EMAIL: 'profile-admin@example.com',
  ADMIN_PASSWORD: 'profile-admin-password',
};

const base = `http://127.0.0.1:${port}`;
async function call(method, path, token, body) {
  const headers = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()).data;
}

let requests = 0;
const app = spawn(
  process.execPath,
  ['--cpu-prof', '--cpu-prof-dir', work, process.env.PROFILE_APP || join(root, 'dist', 'src', 'main.js')],
  {
    cwd: work,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
try {
  for (const deadline = Date.now() + 30_000; ;) {
    try {
      if ((await fetch(`${base}/health/live`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('the app did not come up');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const user = await call('POST', '/api/v1/auth/register', undefined, {
    email: `profile-${id}@example.com`,
    password: 'profile-password-1',
    name: 'Profile',
  });
  const { accessToken } = await call('POST', '/api/v1/auth/login', undefined, { email: user.email, password: 'profile-password-1' });
  const auth = { authorization: `Bearer ${accessToken}` };
  let load;
  if (scenario === 'live') load = { url: `${base}/health/live` };
  else if (scenario === 'ready') load = { url: `${base}/health/ready` };
  else if (scenario === 'read') load = { url: `${base}/api/v1/users/${user.id}`, headers: auth };
  else if (scenario === 'transfers') {
    const admin = await call('POST', '/api/v1/auth/login', undefined, { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD });
    const ids = [];
    for (let i = 0; i < 10; i++) {
      const account = await call('POST', '/api/v1/accounts', accessToken, { name: `profile ${i}`, currency: 'EUR' });
      await call('POST', `/api/v1/accounts/${account.id}/deposits`, admin.accessToken, { amount: 1_000_000 });
      ids.push(account.id);
    }
    load = {
      url: base,
      requests: [
        {
          method: 'POST',
          path: '/api/v1/transfers',
          headers: { 'content-type': 'application/json', ...auth },
          setupRequest: (request) => {
            const from = Math.floor(Math.random() * ids.length);
            const to = (from + 1 + Math.floor(Math.random() * (ids.length - 1))) % ids.length;
            return {
              ...request,
              body: JSON.stringify({ fromAccountId: ids[from], toAccountId: ids[to], amount: 1 + Math.floor(Math.random() * 50) }),
            };
          },
        },
      ],
    };
  } else throw new Error(`unknown scenario ${scenario} (read, live, ready, transfers)`);
  const result = await autocannon({ ...load, connections, duration: seconds });
  requests = result.requests.total;
  console.log(`${scenario}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}`);
} finally {
  app.kill('SIGTERM');
  await new Promise((resolve) => app.once('exit', resolve));
  await dropDatabase();
}

const file = readdirSync(work).find((name) => name.endsWith('.cpuprofile'));
if (!file) throw new Error('no profile written');
if (process.env.PROFILE_OUT) copyFileSync(join(work, file), process.env.PROFILE_OUT);
report(JSON.parse(readFileSync(join(work, file), 'utf8')));
rmSync(work, { recursive: true, force: true });

function report(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  let total = 0;
  const byPlace = new Map();
  const byFunction = new Map();
  for (const [nodeId, micros] of self) {
    const { callFrame } = byId.get(nodeId);
    total += micros;
    if (callFrame.functionName === '(idle)') continue;
    const place = placeOf(callFrame.url, callFrame.functionName);
    byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
    const fn = `${callFrame.functionName || '(anonymous)'} ${place}:${callFrame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
  }
  const busy = total - [...self].filter(([n]) => byId.get(n).callFrame.functionName === '(idle)').reduce((a, [, m]) => a + m, 0);
  const top = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([name, micros]) => ({ name, ms: Math.round(micros / 1000), '% of busy': +((micros / busy) * 100).toFixed(1) }));
  console.log(`busy ${Math.round(busy / 1000)} ms of ${Math.round(total / 1000)} ms sampled`);
  console.table(top(byPlace));
  console.table(top(byFunction));

  // inclusive time of the project's own functions: each sample counted once per function on its stack
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map();
  for (const [nodeId, micros] of self) {
    const seen = new Set();
    for (let id = nodeId; id !== undefined; id = parent.get(id)) {
      const { callFrame } = byId.get(id);
      if (!callFrame.url.includes('/dist/src/')) continue;
      const fn = `${callFrame.functionName || '(anonymous)'} ${placeOf(callFrame.url, '')}:${callFrame.lineNumber + 1}`;
      if (seen.has(fn)) continue;
      seen.add(fn);
      inclusive.set(fn, (inclusive.get(fn) ?? 0) + micros);
    }
  }
  console.table(
    [...inclusive]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([name, micros]) => ({ name, 'µs per request': +(micros / Math.max(1, requests)).toFixed(2) })),
  );
}

function placeOf(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = path.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (path.startsWith('node:')) return path;
  return relative(root, path);
}
