/**
 * `Authorization: Bearer <token>` as RFC 6750 §2.1 writes it: the scheme in any case, one or more
 * spaces, exactly one b64token, nothing after it (not even whitespace). Anything else carries no
 * token. Authentication and the rate limiter both read the header through this one function, so
 * a request can never be anonymous to one and authenticated to the other.
 */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

export function bearerTokenOf(authorization: string | string[] | undefined): string | null {
  if (typeof authorization !== 'string') return null;
  return BEARER.exec(authorization)?.[1] ?? null;
}
