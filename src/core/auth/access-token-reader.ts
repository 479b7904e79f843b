/**
 * Who a request claims to be, read from its bearer token with the signature checked but
 * nothing else (no database, no cache). The rate limiter runs before authentication, so
 * rejected requests count too, and keys verified callers by user id. Provided by the auth module.
 */
export abstract class AccessTokenReader {
  /** The header is read with `bearerTokenOf`, exactly as authentication reads it. */
  abstract subjectOf(authorization: string | string[] | undefined): string | null;
}
