import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension, ApiResponse } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ERROR_DESCRIPTIONS } from '../swagger/api-envelope.decorator';
import { ErrorEnvelopeDto } from '../swagger/envelope.schemas';
import { AuthUser, Role } from './auth-user';

export const IS_PUBLIC = 'app:public';
/** Set by `@Auth()`: the route asks for an access token (read by the access-rule check, not the guard). */
export const IS_AUTHENTICATED = 'app:authenticated';
export const REQUIRED_ROLES = 'app:roles';
/** Set by `@Auth({ verifiedEmail: true })`. */
export const REQUIRES_VERIFIED_EMAIL = 'app:verified-email';

/** Marks a public operation in the OpenAPI document; `setupSwagger` turns it into `security: []`. */
export const OPENAPI_PUBLIC = 'x-public';

/** The route needs no access token (and the OpenAPI document says so). */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(IS_PUBLIC, true), ApiExtension(OPENAPI_PUBLIC, true));

export interface AuthOptions {
  /** The caller needs every one of these roles (else 403 `FORBIDDEN`). None: any authenticated caller. */
  roles?: Role[];
  /**
   * With `REQUIRE_VERIFIED_EMAIL=true`, a caller whose email is not verified is refused (403
   * `EMAIL_NOT_VERIFIED`). Routes that open accounts or move money.
   */
  verifiedEmail?: boolean;
}

/**
 * The route needs an access token, and with `roles` every one of those roles. One decorator per
 * access rule: it sets what the global access guard reads, Swagger's bearer security, and the
 * 401 response (plus 403 when roles are required) in the OpenAPI document, so the three cannot drift.
 *
 * ```ts
 * @Get()
 * @Auth({ roles: ['admin'] })     // admin only: 401 without a token, 403 without the role
 * @ApiEnvelope(AuditEventResponse, { list: 'cursor', errors: [400] })   // never 401/403 here
 * list(...) {}
 *
 * @Get('mine')
 * @Auth()                         // any authenticated caller; an owner check in the service
 * @ApiEnvelope(AccountResponse, { errors: [400, 403, 404] })             // 403: not the owner
 * mine(@CurrentUser() actor: AuthUser) {}
 * ```
 *
 * Every route has exactly one access rule, `@Auth(...)` or `@Public()`, on its method or on its
 * controller class (not both): `setupSwagger` refuses to start otherwise, and so does
 * test/architecture/access-rules.spec.ts. `@ApiEnvelope`'s `errors` must not repeat the 401
 * (or, with roles, the 403) that `@Auth` documents.
 */
export const Auth = (options: AuthOptions = {}): MethodDecorator & ClassDecorator => {
  const roles = options.roles ?? [];
  const verifiedEmail = options.verifiedEmail === true;
  const forbidden = [
    ...(roles.length > 0 ? [`\`FORBIDDEN\`: lacks the ${roles.join(', ')} role`] : []),
    ...(verifiedEmail ? [VERIFIED_EMAIL_403] : []),
  ];
  return applyDecorators(
    SetMetadata(IS_AUTHENTICATED, true),
    SetMetadata(REQUIRED_ROLES, roles),
    SetMetadata(REQUIRES_VERIFIED_EMAIL, verifiedEmail),
    ApiBearerAuth(),
    ApiResponse({ status: 401, description: ERROR_DESCRIPTIONS[401], type: ErrorEnvelopeDto }),
    ...(forbidden.length > 0 ? [ApiResponse({ status: 403, description: forbidden.join('; '), type: ErrorEnvelopeDto })] : []),
  );
};

/** `@Auth({ verifiedEmail })`'s 403; it also names the route's own 403 (a route may add an owner check). */
const VERIFIED_EMAIL_403 =
  '`EMAIL_NOT_VERIFIED`: REQUIRE_VERIFIED_EMAIL is on and the caller has not verified their email; ' +
  "`FORBIDDEN`: the route's own rule refuses the caller (not the owner), if it has one";

/** The authenticated caller (`AuthUser`). */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): AuthUser => {
  return context.switchToHttp().getRequest<FastifyRequest & { user: AuthUser }>().user;
});
