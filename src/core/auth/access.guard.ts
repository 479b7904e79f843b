import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { EmailNotVerifiedError, ForbiddenError } from '../errors/app-error';
import { HandlerCache } from '../http/handler-cache';
import { requestContext } from '../http/request-context';
import { AppThrottlerGuard } from '../throttling/app-throttler.guard';
import { AuthUser, Role } from './auth-user';
import { IS_AUTHENTICATED, IS_PUBLIC, REQUIRED_ROLES, REQUIRES_VERIFIED_EMAIL } from './auth.decorators';
import { Authenticator } from './authenticator';

interface RoutePolicy {
  readonly isPublic: boolean;
  /** Every one of these roles is required; empty: any authenticated caller. */
  readonly roles: readonly Role[];
  /** A verified email is required (when `REQUIRE_VERIFIED_EMAIL` is on). */
  readonly verifiedEmail: boolean;
}

/**
 * The one global guard, in the contract's order: over a rate limit (refused requests count
 * too), who is calling (401), may they (403; `EMAIL_NOT_VERIFIED` under `REQUIRE_VERIFIED_EMAIL`). Each route's policy (`@Public()` or
 * `@Auth({ roles })`) is read from its metadata once, on its first request: from the method when
 * the method declares a rule, else from its controller, so a method's `@Auth` is never overridden
 * by a controller's `@Public` (or the other way round); the access token is verified once per
 * request and shared by the limiter and authentication (`Authenticator`).
 */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly logger = new Logger('Security');
  private readonly policies = new HandlerCache<RoutePolicy>((handler, controller) => {
    const declared = declaresRule(handler) ? handler : controller;
    return {
      isPublic: Reflect.getMetadata(IS_PUBLIC, declared) === true,
      roles: (Reflect.getMetadata(REQUIRED_ROLES, declared) as Role[] | undefined) ?? [],
      verifiedEmail: this.requireVerifiedEmail && Reflect.getMetadata(REQUIRES_VERIFIED_EMAIL, declared) === true,
    };
  });
  private readonly requireVerifiedEmail: boolean;

  constructor(
    private readonly authenticator: Authenticator,
    private readonly throttler: AppThrottlerGuard,
    @InjectConfig() config: Pick<AppConfig, 'lifecycle'>,
  ) {
    this.requireVerifiedEmail = config.lifecycle.requireVerifiedEmail;
  }

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
    if (policy.verifiedEmail && !user.emailVerified) throw new EmailNotVerifiedError();
    return true;
  }
}

function declaresRule(target: object): boolean {
  return (
    Reflect.hasMetadata(IS_PUBLIC, target) || Reflect.hasMetadata(IS_AUTHENTICATED, target) || Reflect.hasMetadata(REQUIRED_ROLES, target)
  );
}
