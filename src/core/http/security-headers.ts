import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Helmet's security headers, computed once at start. (@fastify/helmet builds a new helmet
 * middleware, re-parsing the CSP, on every request; the headers never change, so we don't.)
 * CSP allows what the Swagger UI at /docs needs: its own scripts and inline styles.
 */
export function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const collector = {
    setHeader: (name: string, value: string | number) => (headers[name] = String(value)),
    removeHeader: (name: string) => delete headers[name],
  };
  helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: [`'self'`],
        styleSrc: [`'self'`, `'unsafe-inline'`],
        imgSrc: [`'self'`, 'data:', 'validator.swagger.io'],
        scriptSrc: [`'self'`],
      },
    },
  })({} as IncomingMessage, collector as unknown as ServerResponse, () => undefined);
  return headers;
}
