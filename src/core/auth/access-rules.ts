import type { Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner } from '@nestjs/core';
import { API_ENVELOPE_ERRORS } from '../swagger/api-envelope.decorator';
import type { Role } from './auth-user';
import { IS_AUTHENTICATED, IS_PUBLIC, REQUIRED_ROLES, REQUIRES_VERIFIED_EMAIL } from './auth.decorators';

/** Where a route's access rule was found. */
type Level = 'class' | 'method';

/**
 * What is wrong with the access rules of these controllers' routes (empty: nothing). Each route
 * has exactly one rule, `@Auth(...)` or `@Public()`, on its method or its class; its
 * `@ApiEnvelope` errors do not repeat the 401 (and, with roles, the 403) that `@Auth` documents.
 */
export function accessRuleProblems(controllers: Iterable<Type<unknown>>): string[] {
  return controllerRoutes(controllers).flatMap(({ name, handler, controller }) => routeProblems(name, handler, controller));
}

export interface ControllerRoute {
  /** `Controller.method` */
  readonly name: string;
  readonly handler: object;
  readonly controller: Type<unknown>;
}

/** Every route handler (a method with `@Get`, `@Post`, …) of these controllers, read from Nest's metadata. */
export function controllerRoutes(controllers: Iterable<Type<unknown>>): ControllerRoute[] {
  const routes: ControllerRoute[] = [];
  const scanner = new MetadataScanner();
  for (const controller of new Set(controllers)) {
    const prototype = controller.prototype as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name];
      if (typeof handler !== 'function' || Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
      if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
      routes.push({ name: `${controller.name}.${name}`, handler, controller });
    }
  }
  return routes;
}

function routeProblems(route: string, handler: object, controller: object): string[] {
  const rules: Array<{ rule: '@Auth' | '@Public'; level: Level }> = [];
  for (const [level, target] of [
    ['class', controller],
    ['method', handler],
  ] as const) {
    if (Reflect.getMetadata(IS_AUTHENTICATED, target) === true) rules.push({ rule: '@Auth', level });
    if (Reflect.getMetadata(IS_PUBLIC, target) === true) rules.push({ rule: '@Public', level });
  }
  if (rules.length === 0) return [`${route}: no access rule; add @Auth(...) or @Public()`];
  if (rules.length > 1)
    return [`${route}: one access rule per route, found ${rules.map((r) => `${r.rule} on the ${r.level}`).join(' and ')}`];
  if (rules[0]!.rule === '@Public') return [];
  const level = rules[0]!.level;
  const declared = level === 'class' ? controller : handler;
  const roles = (Reflect.getMetadata(REQUIRED_ROLES, declared) as Role[] | undefined) ?? [];
  const verifiedEmail = Reflect.getMetadata(REQUIRES_VERIFIED_EMAIL, declared) === true;
  const errors = (Reflect.getMetadata(API_ENVELOPE_ERRORS, handler) as number[] | undefined) ?? [];
  const problems: string[] = [];
  if (errors.includes(401)) problems.push(`${route}: @ApiEnvelope lists 401, which @Auth documents`);
  if (roles.length > 0 && errors.includes(403)) problems.push(`${route}: @ApiEnvelope lists 403, which @Auth({ roles }) documents`);
  if (verifiedEmail && errors.includes(403)) problems.push(`${route}: @ApiEnvelope lists 403, which @Auth({ verifiedEmail }) documents`);
  return problems;
}
