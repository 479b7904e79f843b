import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError } from '../errors/app-error';
import { HandlerCache } from '../http/handler-cache';
import { requestContext } from '../http/request-context';
import { AppThrottlerGuard } from '../throttling/app-throttler.guard';
import { AuthUser, Role } from './auth-user';
import { IS_PUBLIC, REQUIRED_ROLES } from './auth.decorators';
import { Authenticator } from './authenticator';

interface RoutePolicy {
  readonly isPublic: boolean;
  /** Every one of these roles is required; empty: any authenticated caller. */
  readonly roles: readonly Role[];
}

/**
 * The one global guard, in the contract's order: over a rate limit (refused requests count
 * too), who is calling (401), may they (403). Each route's policy (`@Public()`, `@Roles()`) is
 * read from its metadata once, on its first request; the access token is verified once per
 * request and shared by the limiter and authentication (`Authenticator`).
 */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly logger = new Logger('Security');
  private readonly policies = new HandlerCache<RoutePolicy>((handler, controller) => ({
    isPublic: metadata<boolean>(IS_PUBLIC, handler, controller) === true,
    roles: metadata<Role[]>(REQUIRED_ROLES, handler, controller) ?? [],
  }));

  constructor(
    private readonly authenticator: Authenticator,
    private readonly throttler: AppThrottlerGuard,
  ) {}

  /**
   * Synchronous where nothing needs waiting for (a public route no limit applies to, such as
   * the health probes): Nest then skips its own await on the guard.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const limited = this.throttler.limit(context);
    const policy = this.policies.get(context);
    if (limited === null) return policy.isPublic ? true : this.authorise(context, policy);
    return limited.then(() => (policy.isPublic ? true : this.authorise(context, policy)));
  }

  private async authorise(context: ExecutionContext, policy: RoutePolicy): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthUser }>();
    const user = await this.authenticator.authenticate(request);
    request.user = user;
    const store = requestContext.getStore();
    if (store) store.actorId = user.id; // domain events carry the caller
    if (policy.roles.length > 0 && !policy.roles.every((role) => user.roles.includes(role))) {
      this.logger.warn({
        event: 'authorization.denied',
        userId: user.id,
        required: policy.roles,
        route: request.routeOptions.url,
        msg: 'authorization denied',
      });
      throw new ForbiddenError(`This action requires the ${policy.roles.join(', ')} role`);
    }
    return true;
  }
}

/** The handler's value, else the controller's (as `Reflector.getAllAndOverride` reads it). */
function metadata<T>(key: string, handler: object, controller: object): T | undefined {
  return (Reflect.getMetadata(key, handler) ?? Reflect.getMetadata(key, controller)) as T | undefined;
}
