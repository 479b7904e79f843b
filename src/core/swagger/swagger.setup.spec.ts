import { Controller, Get, Type } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Auth, Public } from '../auth/auth.decorators';
import { EmbedsModule } from '../http/embeds';
import { ApiEnvelope } from './api-envelope.decorator';
import { setupSwagger } from './swagger.setup';

class Dto {}

@Controller('guarded')
class GuardedController {
  @Get()
  @Auth({ roles: ['admin'] })
  @ApiEnvelope(Dto, { errors: [404] })
  get(): void {}

  @Get('open')
  @Public()
  open(): void {}
}

@Controller('unguarded')
class UnguardedController {
  @Get()
  get(): void {}
}

@Controller('repeats')
class RepeatsController {
  @Get()
  @Auth()
  @ApiEnvelope(Dto, { errors: [401, 404] })
  get(): void {}
}

async function appWith(...controllers: Array<Type<unknown>>): Promise<NestFastifyApplication> {
  const module = await Test.createTestingModule({ imports: [EmbedsModule], controllers }).compile();
  return module.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
}

describe('setupSwagger', () => {
  it('starts when every route has one access rule, and documents what @Auth says', async () => {
    const app = await appWith(GuardedController);
    try {
      setupSwagger(app);
      await app.init();
      const doc = (await app.getHttpAdapter().getInstance().inject({ method: 'GET', url: '/docs/json' })).json();
      const get = doc.paths['/guarded'].get;
      expect(get.security).toEqual([{ bearer: [] }]);
      expect(Object.keys(get.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '404', '429', '500', '503']));
      expect(get.responses['403'].description).toBe('`FORBIDDEN`: lacks the admin role');
      expect(doc.paths['/guarded/open'].get.security).toEqual([]);
      expect(doc.paths['/guarded/open'].get.responses).not.toHaveProperty('401');
    } finally {
      await app.close();
    }
  });

  it.each([
    [UnguardedController, 'UnguardedController.get: no access rule; add @Auth(...) or @Public()'],
    [RepeatsController, 'RepeatsController.get: @ApiEnvelope lists 401, which @Auth documents'],
  ])('refuses to start with %p', async (controller, problem) => {
    const app = await appWith(GuardedController, controller);
    try {
      expect(() => setupSwagger(app)).toThrow(problem);
    } finally {
      await app.close();
    }
  });
});
