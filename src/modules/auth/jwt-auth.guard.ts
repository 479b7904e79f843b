import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { IS_PUBLIC } from '../../core/auth/auth.decorators';
import { UnauthorizedError } from '../../core/errors/app-error';
import { toAppError } from '../../core/errors/to-app-error';

/** The global authentication guard: every route needs a valid access token unless `@Public()`. */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    return super.canActivate(context);
  }

  override handleRequest<TUser>(error: unknown, user: TUser | false): TUser {
    // a database that is down while checking the user is a 503, not a reason to drop the token
    if (error) throw toAppError(error);
    if (!user) throw new UnauthorizedError('A valid access token is required');
    return user;
  }
}
