import { Injectable, Module, OnModuleInit } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { TransferCompletedEvent } from '../../src/modules/accounts';
import { ADMIN_ENV, adminSession, Session, signUp } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { CapturedLogs, captureLogs } from '../support/log-capture';
import { balanceOf, deposit, openAccount, transfer, transfersOutOf } from '../support/money';
import { json, startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

type Failure = 'none' | 'deadlock' | 'bug' | 'async';

/** Listeners of `transfer.completed` that fail on demand, as a buggy module's could. */
@Injectable()
class FailingListeners implements OnModuleInit {
  failure: Failure = 'none';

  constructor(private readonly events: EventEmitter2) {}

  onModuleInit(): void {
    // a plain listener: what it throws reaches whoever emitted the event
    this.events.on(TransferCompletedEvent.type, () => {
      if (this.failure === 'deadlock') {
        throw Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), {
          code: 'ER_LOCK_DEADLOCK',
          errno: 1213,
        });
      }
      if (this.failure === 'bug') throw new TypeError('listener bug');
    });
  }

  // an async Nest listener that does not swallow its errors
  @OnEvent(TransferCompletedEvent.type, { suppressErrors: false })
  async onTransferCompleted(): Promise<void> {
    await Promise.resolve();
    if (this.failure === 'async') throw new Error('async listener failed');
  }
}

@Module({ providers: [FailingListeners] })
class FailingListenersModule {}

describe('after-commit listeners cannot fail or repeat a committed transfer', () => {
  let env: IsolatedEnv;
  let logs: CapturedLogs;
  let t: TestApp;
  let owner: Session;
  let from: string;
  let to: string;
  let listeners: FailingListeners;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    logs = captureLogs('info');
    t = await startTestApp(env, { env: ADMIN_ENV, logger: logs.logger, extraModules: [FailingListenersModule] });
    listeners = t.app.get(FailingListeners);
    const admin = await adminSession(t);
    owner = await signUp(t);
    from = await openAccount(t, owner);
    to = await openAccount(t, owner);
    await deposit(t, admin, from, 10_000);
  });

  afterEach(() => {
    listeners.failure = 'none';
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  const hookFailures = () => logs.lines.filter((line) => line.msg === 'after-commit hook failed; the transaction had committed');

  it.each<[Failure, string]>([
    ['deadlock', 'a deadlock-looking error (not retried: the transfer had committed)'],
    ['bug', 'any other error (not a 500)'],
    ['async', 'a rejected promise (never an unhandled rejection)'],
  ])('a listener failing with %s: 201, exactly one transfer, the failure logged (%s)', async (failure) => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const before = { out: await transfersOutOf(t, from), balance: await balanceOf(t, from), logged: hookFailures().length };
      listeners.failure = failure;
      const res = await transfer(t, owner, { fromAccountId: from, toAccountId: to, amount: 100 });
      expect(res.statusCode).toBe(201);
      expect(json(res).data).toMatchObject({ type: 'transfer', amount: 100 });
      expect(await transfersOutOf(t, from)).toBe(before.out + 1);
      expect(await balanceOf(t, from)).toBe(before.balance - 100);
      await waitFor(() => hookFailures().length === before.logged + 1, 5_000);
      expect(unhandled).not.toHaveBeenCalled();
      const line = hookFailures().at(-1)!;
      expect(line.requestId).toEqual(expect.any(String));
      expect(line.err).toBeDefined();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});
