import { Body, Controller, Get, HttpCode, Injectable, Logger, Module, OnModuleInit, Param, Post } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min, ValidateNested } from 'class-validator';
import { DataSource } from 'typeorm';
import { Public } from '../../src/core/auth/auth.decorators';
import { ConflictError, ForbiddenError, NotFoundError } from '../../src/core/errors/app-error';
import { CursorPage, OffsetPage } from '../../src/core/http/pagination';

class ProbeNestedDto {
  @IsInt()
  @Min(1)
  count: number;
}

class ProbeEchoDto {
  @IsString()
  @Length(1, 10)
  name: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => ProbeNestedDto)
  nested?: ProbeNestedDto;

  @IsOptional()
  @IsInt()
  @Max(5)
  level?: number;
}

class ProbeItemDto {
  @IsString()
  @Length(1, 50)
  name: string;
}

/** Test-only routes that exercise the core (envelope, errors, driver mapping, logging) through HTTP. */
@Injectable()
class ProbeService implements OnModuleInit {
  private readonly logger = new Logger('ProbeService');

  constructor(private readonly dataSource: DataSource) {}

  async onModuleInit(): Promise<void> {
    await this.dataSource.query('CREATE TABLE IF NOT EXISTS probe_items (name VARCHAR(50) NOT NULL PRIMARY KEY)');
  }

  async insert(name: string): Promise<{ name: string }> {
    await this.dataSource.query('INSERT INTO probe_items (name) VALUES (?)', [name]);
    return { name };
  }

  async ping(): Promise<{ ok: true }> {
    await this.dataSource.query('SELECT 1');
    return { ok: true };
  }

  logSomething(): void {
    this.logger.log({ msg: 'probe log line', password: 'hunter2-secret', nested: { refreshToken: 'rt-secret' } });
  }
}

@Public()
@Controller('__probe')
class ProbeController {
  constructor(private readonly probe: ProbeService) {}

  @Get('ok')
  ok() {
    return { hello: 'world' };
  }

  @Post('echo')
  echo(@Body() body: ProbeEchoDto) {
    return body;
  }

  @Post('empty')
  @HttpCode(204)
  empty(): void {}

  @Get('offset')
  offset() {
    return new OffsetPage([{ n: 1 }, { n: 2 }], 2, 2, 5);
  }

  @Get('cursor')
  cursor() {
    return new CursorPage([{ n: 1 }], 'opaque', 1);
  }

  @Get('error/:kind')
  error(@Param('kind') kind: string) {
    switch (kind) {
      case 'not-found':
        throw new NotFoundError('Widget', '42');
      case 'conflict':
        throw new ConflictError('Already there', { name: ['taken'] });
      case 'forbidden':
        throw new ForbiddenError();
      default:
        throw new Error('kaboom: SECRET-INTERNAL-DETAIL');
    }
  }

  @Post('items')
  items(@Body() body: ProbeItemDto) {
    return this.probe.insert(body.name);
  }

  @Get('db')
  db() {
    return this.probe.ping();
  }

  @Get('log')
  log() {
    this.probe.logSomething();
    return { logged: true };
  }
}

@Module({ controllers: [ProbeController], providers: [ProbeService] })
export class ProbeModule {}
