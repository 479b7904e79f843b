import type { Type } from '@nestjs/common';
import { CONTROLLER_WATERMARK } from '@nestjs/common/constants';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { accessRuleProblems, controllerRoutes } from '../../src/core/auth/access-rules';

/*
 * Every route of every controller in src/ has exactly one access rule, `@Auth(...)` or
 * `@Public()` (STYLE.md, "One decorator per access rule"). setupSwagger checks the same at
 * start-up; this fails before anything starts.
 */
const SRC = resolve(__dirname, '..', '..', 'src');

function controllerFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return controllerFiles(path);
    return entry.name.endsWith('.controller.ts') ? [path] : [];
  });
}

async function loadControllers(): Promise<Array<Type<unknown>>> {
  const modules = await Promise.all(controllerFiles(SRC).map((file) => import(file) as Promise<Record<string, unknown>>));
  return modules.flatMap((exports) =>
    Object.values(exports).filter(
      (value): value is Type<unknown> => typeof value === 'function' && Reflect.getMetadata(CONTROLLER_WATERMARK, value) === true,
    ),
  );
}

describe('access rules', () => {
  let controllers: Array<Type<unknown>>;

  beforeAll(async () => {
    controllers = await loadControllers();
  });

  it('finds the controllers and their routes', () => {
    const names = controllers.map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining(['UsersController', 'AuthController', 'AccountsController', 'TransfersController', 'HealthController']),
    );
    expect(controllerRoutes(controllers).length).toBeGreaterThan(20);
  });

  it('every route has exactly one of @Auth(...) or @Public(), and @ApiEnvelope does not repeat what @Auth documents', () => {
    expect(accessRuleProblems(controllers)).toEqual([]);
  });
});
