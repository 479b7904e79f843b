/**
 * Who a request claims to be, read from its bearer token with the signature checked but
 * nothing else (no database, no cache). The rate limiter runs before authentication, so
 * rejected requests count too, and keys verified callers by user id. Provided by the auth module.
 */
export abstract class AccessTokenReader {
  abstract subjectOf(authorization: string | undefined): string | null;
}
