// The bare baseline: Fastify + mysql2 (or better-sqlite3) + node-redis doing the same work as the
// app's benchmarked routes, with nothing else (no Nest, no guards, no interceptors, no ORM). The
// contract's per-request work (request id, headers, token verification, the caller's token
// version checked through the cache, body bounds, validation) comes from bench/common.mjs,
// shared with the framework floor (bench/floor.mjs).
import Fastify from 'fastify';
import {
  accessTokenVerifier,
  applyEdgeHeaders,
  authenticate,
  errorBody,
  jsonBodyProblem,
  loadUser,
  meta,
  openCache,
  openDatabase,
  requestIdOf,
  sqliteDatetime,
  toUserResponse,
  uuidv7,
  UUID,
} from './common.mjs';

const port = Number(process.env.PORT || 3100);
const verify = accessTokenVerifier(process.env.JWT_ACCESS_SECRET);
const db = await openDatabase(process.env.DATABASE_URL);
const cache = await openCache(process.env.REDIS_URL || null, `${process.env.REDIS_KEY_PREFIX ?? ''}baseline:`);

const app = Fastify({ genReqId: requestIdOf, keepAliveTimeout: 72_000 });
app.addHook('onRequest', (request, reply, done) => {
  applyEdgeHeaders(request, reply);
  done();
});

const unauthorized = (request, reply) => reply.code(401).send(errorBody(request.id, 'UNAUTHORIZED', 'The access token is invalid'));

app.get('/health/live', async (request) => ({ data: { status: 'ok' }, meta: meta(request.id) }));

app.get('/health/ready', async (request) => {
  await Promise.all([db.query('SELECT 1'), cache.ping()]);
  return { data: { status: 'ok', checks: { database: 'up', cache: 'up' } }, meta: meta(request.id) };
});

// the caller is verified and read through the cache once; reading oneself reuses that record
// (the app memoises the same read per request), anyone else is a second cache read (admins)
app.get('/api/v1/users/:id', async (request, reply) => {
  const caller = await authenticate(verify, db, cache, request.headers.authorization);
  if (!caller) return unauthorized(request, reply);
  const id = request.params.id;
  if (!UUID.test(id))
    return reply.code(400).send(errorBody(request.id, 'VALIDATION_ERROR', 'The request is not valid', { id: ['id must be a UUID'] }));
  const wanted = id.toLowerCase();
  if (wanted !== caller.id && !caller.roles.includes('admin'))
    return reply.code(403).send(errorBody(request.id, 'FORBIDDEN', 'You may only access your own user'));
  const user = wanted === caller.id ? caller : await loadUser(db, cache, wanted);
  if (!user)
    return reply.code(404).send(errorBody(request.id, 'NOT_FOUND', `User ${wanted} was not found`, { resource: 'User', id: wanted }));
  return { data: toUserResponse(user), meta: meta(request.id) };
});

class Refusal extends Error {
  constructor(status, code, message, details) {
    super(message);
    Object.assign(this, { status, code, details });
  }
}

const MAX_AMOUNT = 1_000_000_000_000_000;
const MAX_ATTEMPTS = 6;
const BACKOFF_STEP_MS = 20;

function transferInputProblem(body) {
  const fields = {};
  for (const key of Object.keys(body))
    if (key !== 'fromAccountId' && key !== 'toAccountId' && key !== 'amount') fields[key] = [`property ${key} should not exist`];
  for (const key of ['fromAccountId', 'toAccountId'])
    if (typeof body[key] !== 'string' || !UUID.test(body[key])) fields[key] = [`${key} must be a UUID`];
  if (!Number.isSafeInteger(body.amount) || body.amount < 1 || body.amount > MAX_AMOUNT)
    fields.amount = ['amount must be an integer from 1 to 10^15'];
  if (Object.keys(fields).length === 0 && body.fromAccountId.toLowerCase() === body.toAccountId.toLowerCase()) {
    fields.toAccountId = ['toAccountId must differ from fromAccountId'];
  }
  return Object.keys(fields).length === 0 ? null : fields;
}

/** The checks of transfers.service.ts on the two locked rows, in its order. */
function check(actor, fromId, toId, amount, rows) {
  const from = rows.find((row) => row.id === fromId);
  const to = rows.find((row) => row.id === toId);
  if (!from) throw new Refusal(404, 'NOT_FOUND', `Account ${fromId} was not found`, { resource: 'Account', id: fromId });
  if (!to) throw new Refusal(404, 'NOT_FOUND', `Account ${toId} was not found`, { resource: 'Account', id: toId });
  if (from.owner_id !== actor.id && !actor.roles.includes('admin'))
    throw new Refusal(403, 'FORBIDDEN', 'You may only move money out of your own accounts');
  if (from.currency !== to.currency) {
    throw new Refusal(422, 'CURRENCY_MISMATCH', `Cannot move ${from.currency} into a ${to.currency} account`, {
      fromCurrency: from.currency,
      toCurrency: to.currency,
    });
  }
  if (Number(from.balance) < amount)
    throw new Refusal(422, 'INSUFFICIENT_FUNDS', 'The source account has too little money for this transfer', { accountId: from.id });
  if (Number(to.balance) + amount > Number.MAX_SAFE_INTEGER)
    throw new Refusal(422, 'BALANCE_LIMIT', 'The balance would exceed 2^53 - 1 minor units', { accountId: to.id });
  return { from, to };
}

const LOCK_SQL = 'SELECT id, owner_id, currency, balance FROM accounts WHERE id IN (?, ?) ORDER BY id';
const DEBIT_SQL = 'UPDATE accounts SET balance = balance - ?, updated_at = ? WHERE id = ?';
const CREDIT_SQL = 'UPDATE accounts SET balance = balance + ?, updated_at = ? WHERE id = ?';
const LEDGER_SQL =
  'INSERT INTO transactions (id, type, from_account_id, to_account_id, amount, currency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)';

/**
 * One transaction: both rows locked in id order by one statement, the checks, debit, credit,
 * the ledger row. A deadlock (1213) or lock-wait timeout (1205) is retried with jittered
 * back-off, up to six attempts, like core/database/unit-of-work.ts; then 503.
 */
async function transferMysql(actor, fromId, toId, amount) {
  for (let attempt = 1; ; attempt++) {
    const connection = await db.pool.getConnection();
    try {
      await connection.query('START TRANSACTION');
      const [rows] = await connection.query(`${LOCK_SQL} FOR UPDATE`, [fromId, toId]);
      const { from, to } = check(actor, fromId, toId, amount, rows);
      const now = new Date();
      const entry = transferEntry(from, to, amount, now);
      await connection.query(DEBIT_SQL, [amount, now, from.id]);
      await connection.query(CREDIT_SQL, [amount, now, to.id]);
      await connection.query(LEDGER_SQL, [entry.id, entry.type, entry.fromAccountId, entry.toAccountId, amount, entry.currency, now]);
      await connection.query('COMMIT');
      return entry;
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => {});
      if (error.errno !== 1213 && error.errno !== 1205) throw error;
      if (attempt >= MAX_ATTEMPTS) throw new Refusal(503, 'SERVICE_UNAVAILABLE', 'The database is busy, retry later');
      await new Promise((resolve) => setTimeout(resolve, Math.random() * BACKOFF_STEP_MS * attempt));
    } finally {
      connection.release();
    }
  }
}

/** The ledger row of a transfer, as the app's TransactionResponse names its fields. */
function transferEntry(from, to, amount, now) {
  return {
    id: uuidv7(),
    type: 'transfer',
    fromAccountId: from.id,
    toAccountId: to.id,
    amount,
    currency: from.currency,
    createdAt: now.toISOString(),
  };
}

/**
 * SQLite: one writer; better-sqlite3 runs the whole transaction synchronously. Its BEGIN is
 * deferred, as the app's: a transaction that read before another connection (the app's, still
 * finishing its requests) committed fails at its first write with SQLITE_BUSY_SNAPSHOT, which
 * no busy timeout waits out. Retried like a deadlock, as the app's unit of work does.
 */
const transferSqliteOnce =
  db.kind === 'sqlite' &&
  db.db.transaction((actor, fromId, toId, amount) => {
    const { from, to } = check(actor, fromId, toId, amount, db.prepared(LOCK_SQL).all(fromId, toId));
    const now = new Date();
    const at = sqliteDatetime(now);
    const entry = transferEntry(from, to, amount, now);
    db.prepared(DEBIT_SQL).run(amount, at, from.id);
    db.prepared(CREDIT_SQL).run(amount, at, to.id);
    db.prepared(LEDGER_SQL).run(entry.id, entry.type, entry.fromAccountId, entry.toAccountId, amount, entry.currency, at);
    return entry;
  });

async function transferSqlite(actor, fromId, toId, amount) {
  for (let attempt = 1; ; attempt++) {
    try {
      return transferSqliteOnce(actor, fromId, toId, amount);
    } catch (error) {
      if (!/^SQLITE_(BUSY|LOCKED)/.test(error.code ?? '')) throw error;
      if (attempt >= MAX_ATTEMPTS) throw new Refusal(503, 'SERVICE_UNAVAILABLE', 'The database is busy, retry later');
      await new Promise((resolve) => setTimeout(resolve, Math.random() * BACKOFF_STEP_MS * attempt));
    }
  }
}

app.post('/api/v1/transfers', async (request, reply) => {
  const actor = await authenticate(verify, db, cache, request.headers.authorization);
  if (!actor) return unauthorized(request, reply);
  const problem = jsonBodyProblem(request.body);
  if (problem) return reply.code(400).send(errorBody(request.id, 'BAD_REQUEST', problem));
  const fields = transferInputProblem(request.body);
  if (fields) return reply.code(400).send(errorBody(request.id, 'VALIDATION_ERROR', 'The request is not valid', fields));
  // idempotency keys are not part of the benchmarked work: refused rather than silently ignored
  if (request.headers['idempotency-key'] !== undefined)
    return reply.code(501).send(errorBody(request.id, 'NOT_IMPLEMENTED', 'Not in the baseline'));
  const fromId = request.body.fromAccountId.toLowerCase();
  const toId = request.body.toAccountId.toLowerCase();
  try {
    const entry = await (db.kind === 'mysql' ? transferMysql : transferSqlite)(actor, fromId, toId, request.body.amount);
    return reply.code(201).send({ data: entry, meta: meta(request.id) });
  } catch (error) {
    if (error instanceof Refusal) return reply.code(error.status).send(errorBody(request.id, error.code, error.message, error.details));
    throw error;
  }
});

app.setErrorHandler((error, request, reply) => {
  const status = error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  if (status === 500) request.log.error(error);
  return reply
    .code(status)
    .send(errorBody(request.id, status === 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST', status === 500 ? 'Internal error' : error.message));
});

await app.listen({ port, host: '127.0.0.1' });
process.on('SIGTERM', () => {
  app
    .close()
    .then(() => Promise.all([db.close(), cache.close()]))
    .finally(() => process.exit(0));
});
