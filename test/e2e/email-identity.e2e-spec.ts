import { randomBytes } from 'node:crypto';
import { ADMIN_ENV, adminSession, bearer, login, register, Session } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { json, startTestApp, TestApp } from '../support/test-app';

const AUTH = '/api/v1/auth';
const USERS = '/api/v1/users';

/**
 * One canonical spelling per address (trimmed, lower-cased, NFC), compared byte for byte: case and
 * surrounding spaces are the same account; an accented spelling is another one. (MariaDB's default
 * utf8mb4_unicode_ci would treat "ádà" as "ada" and let one log into the other.)
 */
describe('email identity', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let admin: Session;
  const tag = randomBytes(3).toString('hex');
  const plain = `ada${tag}@example.com`;
  const accented = `ádà${tag}@example.com`;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    t = await startTestApp(env, { env: ADMIN_ENV });
    admin = await adminSession(t);
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  const loginStatus = async (email: string, password: string) =>
    (await t.request({ method: 'POST', url: `${AUTH}/login`, payload: { email, password } })).statusCode;
  const me = async (accessToken: string) => json(await t.request({ method: 'GET', url: `${AUTH}/me`, headers: bearer(accessToken) })).data;
  const asAdmin = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    t.request({ method, url, headers: bearer(admin.accessToken), ...(payload ? { payload } : {}) });

  it('an accented spelling does not log into the plain account with its password', async () => {
    const ada = await register(t, { email: plain, password: 'ada-password-1' });
    expect(await loginStatus(plain, 'ada-password-1')).toBe(200);
    expect(await loginStatus(accented, 'ada-password-1')).toBe(401);
    expect(await loginStatus(accented.toUpperCase(), 'ada-password-1')).toBe(401);
    expect((await me((await login(t, plain, 'ada-password-1')).accessToken)).id).toBe(ada.id);
  });

  it('registering the accented spelling creates a separate account, each with its own password', async () => {
    const ada = json(await asAdmin('GET', `${USERS}?email=${encodeURIComponent(plain)}`)).data[0];
    const other = await register(t, { email: accented, password: 'other-password-1' });
    expect(other.id).not.toBe(ada.id);
    expect(await loginStatus(accented, 'ada-password-1')).toBe(401);
    expect(await loginStatus(plain, 'other-password-1')).toBe(401);
    expect(await me((await login(t, accented, 'other-password-1')).accessToken)).toMatchObject({ id: other.id, email: accented });
    expect(await me((await login(t, plain, 'ada-password-1')).accessToken)).toMatchObject({ id: ada.id, email: plain });
  });

  it('case and surrounding spaces are the same account', async () => {
    const ada = json(await asAdmin('GET', `${USERS}?email=${encodeURIComponent(plain)}`)).data[0];
    const shouted = `  ${plain.toUpperCase().replace('EXAMPLE', 'Example')} `;
    expect((await me((await login(t, shouted, 'ada-password-1')).accessToken)).id).toBe(ada.id);
    const again = await t.request({
      method: 'POST',
      url: `${AUTH}/register`,
      payload: { email: shouted, password: 'ada-password-2', name: 'Ada' },
    });
    expect(again.statusCode).toBe(409);
  });

  it('both Unicode encodings of one accented letter are the same account (NFC)', async () => {
    const precomposed = `\u00e9mile${tag}@example.com`;
    const decomposed = `e\u0301mile${tag}@example.com`;
    const emile = await register(t, { email: decomposed, password: 'emile-password-1' });
    expect(json(await asAdmin('GET', `${USERS}?email=${encodeURIComponent(precomposed)}`)).data).toEqual([
      expect.objectContaining({ id: emile.id, email: precomposed }),
    ]);
    expect(await loginStatus(precomposed, 'emile-password-1')).toBe(200);
    const again = await t.request({
      method: 'POST',
      url: `${AUTH}/register`,
      payload: { email: precomposed.toUpperCase(), password: 'emile-password-2', name: 'E' },
    });
    expect(again.statusCode).toBe(409);
  });

  it('admin creation and PATCH use the same identity: accents differ, case does not', async () => {
    const created = await asAdmin('POST', USERS, { email: `  Zoë${tag}@Example.com `, password: 'zoe-password-1', name: 'Zoë' });
    expect(created.statusCode).toBe(201);
    expect(json(created).data.email).toBe(`zoë${tag}@example.com`);
    const id = json(created).data.id as string;
    // the accented spelling of Ada's address is another account's: taken
    expect((await asAdmin('PATCH', `${USERS}/${id}`, { email: accented.toUpperCase() })).statusCode).toBe(409);
    // an unaccented spelling of Zoë's address is free
    const moved = await asAdmin('PATCH', `${USERS}/${id}`, { email: ` ZOE${tag}@example.com` });
    expect(moved.statusCode).toBe(200);
    expect(json(moved).data.email).toBe(`zoe${tag}@example.com`);
  });

  it('the email filter matches the canonical spelling exactly', async () => {
    const byPlain = json(await asAdmin('GET', `${USERS}?email=${encodeURIComponent(` ${plain.toUpperCase()} `)}`)).data;
    expect(byPlain.map((u: { email: string }) => u.email)).toEqual([plain]);
    const byAccented = json(await asAdmin('GET', `${USERS}?email=${encodeURIComponent(accented.toUpperCase())}`)).data;
    expect(byAccented.map((u: { email: string }) => u.email)).toEqual([accented]);
  });

  it('orderBy=email is code-point order, in offset pages and in cursor walks alike', async () => {
    for (const local of ['b', 'a', 'z', 'á', 'é', 'e', 'ß', 'ø']) {
      await register(t, { email: `${local}${tag}@example.org` });
    }
    const everyone: string[] = json(await asAdmin('GET', `${USERS}?orderBy=email&pageSize=100`)).data.map(
      (u: { email: string }) => u.email,
    );
    const codePointOrder = [...everyone].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    expect(everyone).toEqual(codePointOrder);

    const walked: string[] = [];
    let after: string | null = null;
    do {
      const query: string = `orderBy=email&limit=3${after ? `&after=${encodeURIComponent(after)}` : ''}`;
      const body = json(await asAdmin('GET', `${USERS}?${query}`));
      walked.push(...body.data.map((u: { email: string }) => u.email));
      after = body.meta.cursor.next;
    } while (after);
    expect(walked).toEqual(everyone);
  });
});
