import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError } from '../errors/app-error';
import { AuthUser, Role } from './auth-user';
import { REQUIRED_ROLES } from './auth.decorators';

/** Enforces `@Roles()`; runs after authentication, so a missing token is already a 401. */
@Injectable()
export class RolesGuard implements CanActivate {
  private readonly logger = new Logger('Security');

  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!required?.length) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthUser }>();
    const user = request.user;
    if (user && required.every((role) => user.roles.includes(role))) return true;
    this.logger.warn({
      event: 'authorization.denied',
      userId: user?.id,
      required,
      route: request.routeOptions.url,
      msg: 'authorization denied',
    });
    throw new ForbiddenError(`This action requires the ${required.join(', ')} role`);
  }
}
