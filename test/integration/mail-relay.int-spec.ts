import { INestApplicationContext, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { UnitOfWork } from '../../src/core/database/unit-of-work';
import { MailComposers } from '../../src/core/mail/mail-composers';
import { MailQueue } from '../../src/core/mail/mail-queue';
import { MailRelay } from '../../src/core/mail/mail-relay';
import type { MailComposer } from '../../src/core/mail/mail.types';
import { MailModule } from '../../src/core/mail/mail.module';
import { startDatabaseContext } from '../support/integration-context';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { parseMessage, startSmtpServer, TestSmtpServer } from '../support/smtp';
import { waitFor } from '../support/wait-for';

interface QueueRow {
  id: string;
  kind: string;
  attempts: number | string;
  done_at: number | string | null;
  outcome: string | null;
  last_error: string | null;
}

/*
 * The mail queue and relay against the real database and an in-process SMTP server, without
 * HTTP: a mail exists iff its transaction commits, is sent once, outside any transaction, and
 * survives an SMTP outage; two relays on one MariaDB never send one job twice; without SMTP the
 * mail is a parseable .eml file. The table never holds a message's text.
 */
describe('mail relay (integration)', () => {
  /** In every message's text and HTML (a stand-in for a one-time token): it must never reach the table or the logs. */
  const TOKEN = `tok-${randomBytes(8).toString('hex')}`;
  const SMTP_PASSWORD = `pw-${randomBytes(8).toString('hex')}`;
  let env: IsolatedEnv;
  let fileEnv: IsolatedEnv;
  let smtp: TestSmtpServer;
  let one: INestApplicationContext;
  let two: INestApplicationContext | undefined;
  let files: INestApplicationContext;
  let logged: jest.SpyInstance[];

  /** Records each committed compose in the compose's own transaction (a rolled-back one leaves nothing). */
  const composer =
    (who: string): MailComposer =>
    async (job, tx) => {
      await tx.manager.query('INSERT INTO probe_composed (job_id, relay) VALUES (?, ?)', [job.id, who]);
      if (job.kind === 'probe.nothing') return null;
      const link = `http://localhost:3000/probe?token=${TOKEN}`;
      return { to: job.to, subject: `Probe ${job.id}`, text: `Open ${link}`, html: `<p><a href="${link}">Open</a></p>` };
    };
  const register = (context: INestApplicationContext, who: string) => {
    const composers = context.get(MailComposers);
    for (const kind of ['probe.mail', 'probe.nothing']) composers.register(kind, composer(who));
  };
  const enqueue = (context: INestApplicationContext, kind = 'probe.mail', to = 'ada@example.com') =>
    context.get(UnitOfWork).run((tx) => context.get(MailQueue).enqueue(tx, { kind, to, userId: null }));
  const row = async (context: INestApplicationContext, id: string) =>
    (await context.get(DataSource).query<QueueRow[]>('SELECT * FROM mail_queue WHERE id = ?', [id]))[0];
  const done = (context: INestApplicationContext, id: string) => async () => (await row(context, id))?.done_at != null;
  const received = (id: string) => smtp.messages.filter((message) => message.subject === `Probe ${id}`);
  const createProbeTable = (context: INestApplicationContext) =>
    context.get(DataSource).query('CREATE TABLE probe_composed (job_id VARCHAR(36) NOT NULL, relay VARCHAR(8) NOT NULL)');

  beforeAll(async () => {
    logged = (['log', 'warn', 'error', 'debug'] as const).map((level) => jest.spyOn(Logger.prototype, level));
    smtp = await startSmtpServer();
    const smtpUrl = `smtp://mailer:${SMTP_PASSWORD}@127.0.0.1:${smtp.port}`;
    env = await createIsolatedEnv();
    one = await startDatabaseContext(env, [MailModule], { SMTP_URL: smtpUrl });
    await createProbeTable(one);
    register(one, 'one');
    if (target.mysql) {
      two = await startDatabaseContext(env, [MailModule], { SMTP_URL: smtpUrl });
      register(two, 'two');
    }
    fileEnv = await createIsolatedEnv();
    files = await startDatabaseContext(fileEnv, [MailModule]);
    await createProbeTable(files);
    register(files, 'files');
  });

  afterAll(async () => {
    await two?.close();
    await one?.close();
    await files?.close();
    await smtp?.stop();
    await env?.destroy();
    await fileEnv?.destroy();
    for (const spy of logged ?? []) spy.mockRestore();
  });

  it('sends a mail queued in a committed transaction once, and nothing for a rolled-back one', async () => {
    let rolledBack = '';
    await expect(
      one.get(UnitOfWork).run(async (tx) => {
        rolledBack = await one.get(MailQueue).enqueue(tx, { kind: 'probe.mail', to: 'eve@example.com' });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const id = await enqueue(one);

    const message = await smtp.waitFor((m) => m.subject === `Probe ${id}`, 10_000);
    expect(message).toMatchObject({ to: 'ada@example.com', recipients: ['ada@example.com'], from: 'no-reply@localhost' });
    expect(message.text).toContain(TOKEN);
    expect(message.html).toContain(`token=${TOKEN}`);
    await waitFor(done(one, id), 5_000, 10);
    expect(await row(one, id)).toMatchObject({ outcome: 'sent', last_error: null });
    expect(Number((await row(one, id))!.attempts)).toBe(1);
    await one.get(MailRelay).drain(); // nothing left to send again
    expect(received(id)).toHaveLength(1);

    expect(await row(one, rolledBack)).toBeUndefined();
    expect(smtp.messages.filter((m) => m.to === 'eve@example.com')).toEqual([]);

    const sent = logged[0]!.mock.calls.map(([entry]) => entry as Record<string, unknown>).find((entry) => entry.mailId === id);
    expect(sent).toEqual({ msg: 'mail sent', mailId: id, kind: 'probe.mail', transport: 'smtp', where: expect.stringContaining('250') });
  });

  it('finishes a job whose composer has nothing to send, without a mail', async () => {
    const id = await enqueue(one, 'probe.nothing', 'nobody@example.com');
    await waitFor(done(one, id), 5_000, 10);
    expect(await row(one, id)).toMatchObject({ outcome: 'dropped', last_error: null });
    expect(smtp.messages.filter((m) => m.to === 'nobody@example.com')).toEqual([]);
  });

  it('retries a kind nobody has registered yet, and sends it once a composer is', async () => {
    const id = await enqueue(one, 'probe.later');
    await waitFor(async () => (await row(one, id))?.last_error != null, 5_000, 10);
    expect((await row(one, id))!.last_error).toBe('no mail composer registered for "probe.later"');
    one.get(MailComposers).register('probe.later', composer('one'));
    await smtp.waitFor((m) => m.subject === `Probe ${id}`, 10_000);
  });

  it('keeps a mail through an SMTP outage and sends it once the server is back on the same port', async () => {
    const port = smtp.port;
    await smtp.stop();
    const id = await enqueue(one);
    await waitFor(async () => Number((await row(one, id))?.attempts) >= 1 && (await row(one, id))?.last_error != null, 5_000, 10);
    const failed = (await row(one, id))!;
    expect(failed.done_at).toBeNull();
    expect(failed.last_error).toMatch(/^SMTP ESOCKET: connect ECONNREFUSED/);

    smtp = await startSmtpServer({ port });
    await smtp.waitFor((m) => m.subject === `Probe ${id}`, 15_000);
    await waitFor(done(one, id), 5_000, 10);
    expect(await row(one, id)).toMatchObject({ outcome: 'sent' });
    expect(received(id)).toHaveLength(1);
    // the outage was logged with the job, never with the SMTP password
    const warned = logged[1]!.mock.calls.map(([entry]) => entry as Record<string, unknown>).find((entry) => entry.mailId === id);
    expect(warned).toMatchObject({ msg: 'mail not sent; retrying', kind: 'probe.mail', attempt: 1 });
  });

  // SQLite: the same conditional UPDATE decides, but two relays need two processes on one file (one writer at a time)
  (target.mysql ? it : it.skip)('two relays on one MariaDB never send one job twice (the conditional claim)', async () => {
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => enqueue(i % 2 ? two! : one, 'probe.mail', `user${i}@example.com`)));
    // both relays look at once, on top of their own nudged passes
    await Promise.all([one.get(MailRelay).drain(), two!.get(MailRelay).drain(), one.get(MailRelay).drain(), two!.get(MailRelay).drain()]);
    await waitFor(async () => (await Promise.all(ids.map((id) => done(one, id)()))).every(Boolean), 20_000, 20);
    expect(ids.filter((id) => received(id).length !== 1)).toEqual([]);
    const composed = await one
      .get(DataSource)
      .query<Array<{ job_id: string; relay: string }>>(
        `SELECT job_id, relay FROM probe_composed WHERE job_id IN (${ids.map(() => '?').join(', ')})`,
        ids,
      );
    expect(composed).toHaveLength(30);
    expect(new Set(composed.map((c) => c.job_id)).size).toBe(30);
  });

  it('without SMTP_URL writes a parseable .eml file with both parts under MAIL_DIR', async () => {
    const id = await enqueue(files, 'probe.mail', 'grace@example.com');
    await waitFor(done(files, id), 5_000, 10);
    expect(await row(files, id)).toMatchObject({ outcome: 'sent' });
    const written = readdirSync(fileEnv.env.MAIL_DIR!).filter((name) => name.endsWith(`-${id}.eml`));
    expect(written).toHaveLength(1);
    const message = await parseMessage(readFileSync(join(fileEnv.env.MAIL_DIR!, written[0]!)));
    expect(message).toMatchObject({ to: 'grace@example.com', subject: `Probe ${id}` });
    expect(message.text).toContain(TOKEN);
    expect(message.html).toContain(`token=${TOKEN}`);
    const sent = logged[0]!.mock.calls.map(([entry]) => entry as Record<string, unknown>).find((entry) => entry.mailId === id);
    expect(sent).toMatchObject({ transport: 'file', where: join(fileEnv.env.MAIL_DIR!, written[0]!) });
  });

  it('never stores or logs the message text (nor the SMTP password)', async () => {
    const ids = [await enqueue(one), await enqueue(files)];
    await waitFor(done(one, ids[0]!), 5_000, 10);
    await waitFor(done(files, ids[1]!), 5_000, 10);
    const rows = [
      ...(await one.get(DataSource).query<QueueRow[]>('SELECT * FROM mail_queue')),
      ...(await files.get(DataSource).query<QueueRow[]>('SELECT * FROM mail_queue')),
    ];
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const table = JSON.stringify(rows);
    expect(table).not.toContain(TOKEN);
    expect(table).not.toContain('Open');
    expect(table).not.toContain(SMTP_PASSWORD);
    const logs = JSON.stringify(logged.flatMap((spy) => spy.mock.calls));
    expect(logs).toContain('mail sent');
    expect(logs).not.toContain(TOKEN);
    expect(logs).not.toContain(SMTP_PASSWORD);
  });
});
