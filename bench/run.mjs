// npm run bench: autocannon against the built app and the bare baseline (bench/baseline.mjs),
// one after the other in the same run, on the database and cache the environment names
// (DATABASE_URL / REDIS_URL; the embedded default otherwise). Prints a table and writes
// bench/results/latest.json.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const duration = Number(process.env.BENCH_DURATION || 10);
const connections = Number(process.env.BENCH_CONNECTIONS || 50);
const scenarios = [
  { name: 'GET /health/live (request pipeline, envelope)', path: '/health/live' },
  { name: 'GET /health/ready (database ping + cache ping)', path: '/health/ready' },
];

function start(script, port, extraEnv) {
  const cwd = mkdtempSync(join(tmpdir(), 'bench-'));
  const child = spawn(process.execPath, [script], {
    cwd,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', RATE_LIMIT: '0', ...extraEnv },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

async function waitUntilUp(port, path) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server on ${port} did not come up`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function measure(port, path) {
  // warm up (JIT, pools), then measure
  await autocannon({ url: `http://127.0.0.1:${port}${path}`, connections, duration: 2 });
  const result = await autocannon({ url: `http://127.0.0.1:${port}${path}`, connections, duration });
  const failures = result.non2xx + result.errors + result.timeouts;
  return { rps: Math.round(result.requests.average), p99: result.latency.p99, failures };
}

async function stop(child) {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

const target = `${process.env.DATABASE_URL?.split('@').pop() ?? 'sqlite (embedded)'} / ${process.env.REDIS_URL ?? 'memory cache'}`;
console.log(`bench: ${duration}s x ${connections} connections; database/cache: ${target}`);
const rows = [];
for (const scenario of scenarios) {
  const baseline = start(join(root, 'bench', 'baseline.mjs'), 3100, {});
  await waitUntilUp(3100, scenario.path);
  const bare = await measure(3100, scenario.path);
  await stop(baseline);

  const app = start(join(root, 'dist', 'src', 'main.js'), 3101, {});
  await waitUntilUp(3101, scenario.path);
  const ours = await measure(3101, scenario.path);
  await stop(app);

  rows.push({ scenario: scenario.name, baselineRps: bare.rps, appRps: ours.rps, ratio: +(ours.rps / bare.rps).toFixed(2), appP99Ms: ours.p99, failures: bare.failures + ours.failures });
}
console.table(rows);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'latest.json'), JSON.stringify({ at: new Date().toISOString(), target, duration, connections, rows }, null, 2));
if (rows.some((row) => row.failures > 0)) {
  console.error('some requests failed: the numbers above are not valid');
  process.exit(1);
}
