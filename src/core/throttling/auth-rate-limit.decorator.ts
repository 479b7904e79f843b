import { SetMetadata } from '@nestjs/common';

export const AUTH_RATE_LIMIT = 'app:auth-rate-limit';

export interface AuthRateLimitOptions {
  /** Also count per `email` in the body (login: credential stuffing spreads over IPs). */
  perEmail?: boolean;
}

/** Adds the stricter `AUTH_RATE_LIMIT` per IP for this route, on top of the global limit. */
export const AuthRateLimit = (options: AuthRateLimitOptions = {}): MethodDecorator =>
  SetMetadata(AUTH_RATE_LIMIT, options);
