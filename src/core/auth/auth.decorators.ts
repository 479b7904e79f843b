import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AuthUser, Role } from './auth-user';

export const IS_PUBLIC = 'app:public';
export const REQUIRED_ROLES = 'app:roles';

/** Marks a public operation in the OpenAPI document; `setupSwagger` turns it into `security: []`. */
export const OPENAPI_PUBLIC = 'x-public';

/** The route needs no access token (and the OpenAPI document says so). */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(IS_PUBLIC, true), ApiExtension(OPENAPI_PUBLIC, true));

/** The caller needs every one of these roles (else 403 FORBIDDEN). */
export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_ROLES, roles);

/** The authenticated caller (`AuthUser`). */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): AuthUser => {
  return context.switchToHttp().getRequest<FastifyRequest & { user: AuthUser }>().user;
});
