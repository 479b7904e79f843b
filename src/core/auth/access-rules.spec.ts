import { Controller, Get, Post } from '@nestjs/common';
import { ApiEnvelope } from '../swagger/api-envelope.decorator';
import { accessRuleProblems, controllerRoutes } from './access-rules';
import { Auth, Public } from './auth.decorators';

class Dto {}

@Controller('fine')
class FineController {
  @Get('open')
  @Public()
  @ApiEnvelope(Dto, { errors: [401] }) // a public login may answer 401 (bad credentials)
  open(): void {}

  @Get('mine')
  @Auth()
  @ApiEnvelope(Dto, { errors: [403, 404] }) // 403: not the owner
  mine(): void {}

  @Post('admin')
  @Auth({ roles: ['admin'] })
  @ApiEnvelope(Dto, { errors: [400] })
  admin(): void {}

  helper(): void {} // not a route
}

@Auth()
@Controller('class-level')
class ClassLevelController {
  @Get()
  list(): void {}
}

@Controller('bad')
class BadController {
  @Get('none')
  none(): void {}

  @Get('both')
  @Auth()
  @Public()
  both(): void {}

  @Get('say-401')
  @Auth()
  @ApiEnvelope(Dto, { errors: [401] })
  say401(): void {}

  @Get('say-403')
  @Auth({ roles: ['admin'] })
  @ApiEnvelope(Dto, { errors: [403] })
  say403(): void {}
}

@Public()
@Controller('twice')
class TwiceController {
  @Get()
  @Auth()
  get(): void {}
}

describe('accessRuleProblems', () => {
  it('enumerates route handlers only', () => {
    expect(controllerRoutes([FineController, ClassLevelController]).map((r) => r.name)).toEqual([
      'FineController.open',
      'FineController.mine',
      'FineController.admin',
      'ClassLevelController.list',
    ]);
  });

  it('accepts one rule per route, on the method or the class, and errors @Auth does not document', () => {
    expect(accessRuleProblems([FineController, ClassLevelController])).toEqual([]);
  });

  it('names each route with no rule, two rules, or errors that repeat what @Auth documents', () => {
    expect(accessRuleProblems([BadController, TwiceController])).toEqual([
      'BadController.none: no access rule; add @Auth(...) or @Public()',
      'BadController.both: one access rule per route, found @Auth on the method and @Public on the method',
      'BadController.say401: @ApiEnvelope lists 401, which @Auth documents',
      'BadController.say403: @ApiEnvelope lists 403, which @Auth({ roles }) documents',
      'TwiceController.get: one access rule per route, found @Public on the class and @Auth on the method',
    ]);
  });
});
