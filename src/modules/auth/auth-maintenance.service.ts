import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { AdminBootstrapService } from '../users';
import { AuthService } from './auth.service';

const PURGE_INTERVAL_MS = 60 * 60 * 1000;

/** Start-up admin bootstrap and the hourly purge of expired refresh and one-time tokens and of sessions that ended. */
@Injectable()
export class AuthMaintenance implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuthMaintenance.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly admin: AdminBootstrapService,
    private readonly auth: AuthService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.admin) {
      // a refusal is logged as a security event by ensureAdmin; the service starts anyway
      const outcome = await this.admin.ensureAdmin(this.config.admin.email, this.config.admin.password);
      if (outcome !== 'refused') this.logger.log(`admin ${this.config.admin.email}: ${outcome}`);
    }
    this.timer = setInterval(() => void this.purge(), PURGE_INTERVAL_MS);
    this.timer.unref();
    await this.purge();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async purge(): Promise<void> {
    try {
      const purged = await this.auth.purgeExpired();
      if (purged > 0) this.logger.log(`purged ${purged} expired refresh tokens, one-time tokens and sessions`);
    } catch (error) {
      this.logger.warn(`refresh-token purge failed: ${(error as Error).message}`);
    }
  }
}
