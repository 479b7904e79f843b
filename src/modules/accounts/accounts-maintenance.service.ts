import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { IdempotencyKeysRepository } from './idempotency-keys.repository';

const PURGE_INTERVAL_MS = 60 * 60 * 1000;

/** Deletes idempotency keys past their 24 h. */
@Injectable()
export class AccountsMaintenance implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AccountsMaintenance.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly keys: IdempotencyKeysRepository) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.purge(), PURGE_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async purge(): Promise<void> {
    try {
      const purged = await this.keys.purgeExpired(new Date());
      if (purged > 0) this.logger.log(`purged ${purged} expired idempotency keys`);
    } catch (error) {
      this.logger.warn(`idempotency-key purge failed: ${(error as Error).message}`);
    }
  }
}
