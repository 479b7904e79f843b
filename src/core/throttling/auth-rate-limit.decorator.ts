import { SetMetadata } from '@nestjs/common';

export const AUTH_RATE_LIMIT = 'app:auth-rate-limit';

/**
 * Adds the stricter `AUTH_RATE_LIMIT` per IP for this route, on top of the global limit. (Failed
 * password checks per email are counted by the check itself: `LoginFailureLimiter`.)
 */
export const AuthRateLimit = (): MethodDecorator => SetMetadata(AUTH_RATE_LIMIT, true);
