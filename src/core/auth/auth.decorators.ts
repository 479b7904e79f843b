import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthUser, Role } from './auth-user';

export const IS_PUBLIC = 'app:public';
export const REQUIRED_ROLES = 'app:roles';

/** The route needs no access token. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/** The caller needs every one of these roles (else 403 FORBIDDEN). */
export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_ROLES, roles);

/** The authenticated caller (`AuthUser`). */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): AuthUser => {
  return context.switchToHttp().getRequest<FastifyRequest & { user: AuthUser }>().user;
});
