import { randomBytes } from 'node:crypto';
import { json, TestApp } from './test-app';

export const ADMIN = { email: 'admin@example.com', password: 'admin-password-123' };
export const ADMIN_ENV = { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password };

export interface Session {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomBytes(4).toString('hex')}@example.com`;
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export async function register(t: TestApp, overrides: Partial<{ email: string; password: string; name: string }> = {}) {
  const body = { email: uniqueEmail(), password: 'password-123', name: 'Test User', ...overrides };
  const res = await t.request({ method: 'POST', url: '/api/v1/auth/register', payload: body });
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`);
  return { ...body, id: json(res).data.id as string };
}

export async function login(t: TestApp, email: string, password: string): Promise<{ accessToken: string; refreshToken: string }> {
  const res = await t.request({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return json(res).data;
}

/** A new user, logged in. */
export async function signUp(t: TestApp, overrides: Partial<{ email: string; password: string; name: string }> = {}): Promise<Session> {
  const user = await register(t, overrides);
  return { ...user, ...(await login(t, user.email, user.password)) };
}

/** The bootstrap admin (the app must run with ADMIN_ENV), logged in. */
export async function adminSession(t: TestApp): Promise<Session> {
  const tokens = await login(t, ADMIN.email, ADMIN.password);
  const me = json(await t.request({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(tokens.accessToken) }));
  if (!me.data) throw new Error(`admin /me failed: ${JSON.stringify(me)}`);
  return { id: me.data.id, ...ADMIN, ...tokens };
}
