import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../auth/auth.decorators';
import { DataSource } from 'typeorm';
import { ServiceUnavailableError } from '../errors/app-error';
import { InjectRedis, RedisClient } from '../redis/redis.module';
import { ApiEnvelope } from '../swagger/api-envelope.decorator';
import { withTimeout } from '../util/with-timeout';

const CHECK_TIMEOUT_MS = 1000;

class LivenessDto {
  @ApiProperty({ example: 'ok' })
  status: 'ok';
}

class ReadinessDto {
  @ApiProperty({ example: 'ok' })
  status: 'ok';

  @ApiProperty({ example: { database: 'up', cache: 'up' }, description: 'Each dependency and its state' })
  checks: Record<string, 'up' | 'down'>;
}

@ApiTags('health')
@Public()
@SkipThrottle()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly dataSource: DataSource,
    @InjectRedis() private readonly redis: RedisClient | null,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is running (for restart decisions)' })
  @ApiEnvelope(LivenessDto, { description: 'The process is running', commonErrors: false })
  live(): LivenessDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database and the cache answer within 1 s (for load balancers)' })
  @ApiEnvelope(ReadinessDto, {
    description: 'Database and cache answer',
    errors: [503],
    commonErrors: false,
  })
  async ready(): Promise<ReadinessDto> {
    try {
      const result = await this.health.check([
        () => this.check('database', () => this.dataSource.query('SELECT 1')),
        () => this.check('cache', () => this.redis?.ping()),
      ]);
      return { status: 'ok', checks: statesOf(result.details) };
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const body = error.getResponse() as { details?: Record<string, { status: string }> };
      const checks = statesOf(body.details ?? {});
      const down = Object.keys(checks).filter((name) => checks[name] === 'down');
      throw new ServiceUnavailableError(`Not ready: ${down.join(', ')} unavailable`, checks);
    }
  }

  /**
   * One dependency answering within CHECK_TIMEOUT_MS (without REDIS_URL the cache lives in process
   * memory and is up while the process is). The bound is our own timer, cleared when the check
   * answers: terminus's `withTimeout` arms an `AbortSignal.timeout` per check that fires a second
   * later regardless, building a DOMException and an event each time (about 15 µs a probe).
   */
  private check(name: string, probe: () => Promise<unknown> | undefined) {
    return this.indicators.check(name).attempt(async () => {
      const answer = probe();
      if (answer) await withTimeout(answer, CHECK_TIMEOUT_MS, name);
    });
  }
}

function statesOf(details: Record<string, { status: string }>): Record<string, 'up' | 'down'> {
  return Object.fromEntries(Object.entries(details).map(([name, { status }]) => [name, status === 'up' ? 'up' : 'down']));
}
