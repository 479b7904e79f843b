import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { bearer, Session } from './factories';
import { json, TestApp } from './test-app';

/** Accounts, deposits and transfers through HTTP, and what the ledger holds (for tests of money rules). */

export async function openAccount(t: TestApp, owner: Session, currency = 'EUR'): Promise<string> {
  const res = await t.request({
    method: 'POST',
    url: '/api/v1/accounts',
    headers: bearer(owner.accessToken),
    payload: { name: 'Main', currency },
  });
  if (res.statusCode !== 201) throw new Error(`open account failed: ${res.statusCode} ${res.body}`);
  return json(res).data.id as string;
}

export async function deposit(t: TestApp, admin: Session, accountId: string, amount: number): Promise<void> {
  const res = await t.request({
    method: 'POST',
    url: `/api/v1/accounts/${accountId}/deposits`,
    headers: bearer(admin.accessToken),
    payload: { amount },
  });
  if (res.statusCode !== 201) throw new Error(`deposit failed: ${res.statusCode} ${res.body}`);
}

export function transfer(
  t: TestApp,
  who: Session,
  body: { fromAccountId: string; toAccountId: string; amount: number },
  idempotencyKey?: string,
): Promise<LightMyRequestResponse> {
  const headers = { ...bearer(who.accessToken), ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) };
  return t.request({ method: 'POST', url: '/api/v1/transfers', headers, payload: body });
}

/** The balance as stored (read directly, so a test can read while the API is busy). */
export async function balanceOf(t: TestApp, accountId: string): Promise<number> {
  const rows = await t.app.get(DataSource).query('SELECT balance FROM accounts WHERE id = ?', [accountId]);
  return Number(rows[0].balance);
}

/** Ledger rows of transfers out of an account. */
export async function transfersOutOf(t: TestApp, accountId: string): Promise<number> {
  const rows = await t.app
    .get(DataSource)
    .query("SELECT COUNT(*) AS n FROM transactions WHERE type = 'transfer' AND from_account_id = ?", [accountId]);
  return Number(rows[0].n);
}
