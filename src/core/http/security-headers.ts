import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

export type HeaderSet = Readonly<Record<string, string>>;

/** The two header sets a response can get: HSTS and `upgrade-insecure-requests` only over HTTPS. */
export interface SecurityHeaderSets {
  http: HeaderSet;
  https: HeaderSet;
}

/**
 * Helmet's security headers, computed once at start (@fastify/helmet builds a new helmet
 * middleware, re-parsing the CSP, on every request). Two sets, chosen per request by its
 * protocol: sent over plain HTTP, `upgrade-insecure-requests` makes a browser fetch every
 * asset of the Swagger UI over https (which a plain-HTTP deployment does not serve, so the
 * page stays blank), and HSTS means nothing (RFC 6797 §8.1 says to ignore it). CSP allows
 * what the Swagger UI at /docs needs: its own scripts and inline styles.
 */
export function securityHeaderSets(): SecurityHeaderSets {
  return { http: collect(false), https: collect(true) };
}

function collect(secure: boolean): HeaderSet {
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
        upgradeInsecureRequests: secure ? [] : null,
      },
    },
    strictTransportSecurity: secure,
  })({} as IncomingMessage, collector as unknown as ServerResponse, () => undefined);
  return Object.freeze(headers);
}
