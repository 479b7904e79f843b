import type { Logger as PinoLogger } from 'pino';
import type { Logger as TypeOrmLogger } from 'typeorm';

/**
 * Routes TypeORM's own messages to pino. Queries, their parameters and failing SQL are never
 * logged (they carry user data); the exception filter logs failures by driver code instead.
 */
export class TypeOrmPinoLogger implements TypeOrmLogger {
  constructor(private readonly pino: PinoLogger) {}

  logQuery(): void {}

  logQueryError(): void {}

  logQuerySlow(time: number): void {
    this.pino.warn({ durationMs: time }, 'slow database query');
  }

  logSchemaBuild(message: string): void {
    this.pino.debug({ context: 'TypeORM' }, message);
  }

  logMigration(message: string): void {
    this.pino.info({ context: 'Migrations' }, message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    const text = String(message);
    if (level === 'warn') this.pino.warn({ context: 'TypeORM' }, text);
    else this.pino.debug({ context: 'TypeORM' }, text);
  }
}
