import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { OPENAPI_PUBLIC } from '../auth/auth.decorators';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;

/** Serves the Swagger UI at `/docs` and the OpenAPI 3 document at `/docs/json`. */
export function setupSwagger(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Modular monolith API')
    .setDescription(
      'REST API v1. Every response body is an envelope: `{ data, meta }` on success, `{ error: { code, message, details? }, meta }` on failure; ' +
        '`meta.requestId` matches the `X-Request-Id` header. Lists add `meta.pagination` (offset) or `meta.cursor` (cursor). ' +
        'Rate limits answer 429 `RATE_LIMITED` with a `Retry-After` header. The full contract is `docs/API.md` in the repository.',
    )
    .setVersion('1.0')
    // relative: the Swagger UI and clients call the origin that served the document
    .addServer('/', 'This server')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token from POST /api/v1/auth/login' })
    .build();
  config.info.license = { name: 'UNLICENSED' };
  const document = markPublicOperations(SwaggerModule.createDocument(app, config));
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs/json',
    yamlDocumentUrl: 'docs/yaml',
    swaggerOptions: { persistAuthorization: true },
  });
}

/**
 * `@Public()` operations say `security: []` (no token needed). @nestjs/swagger drops empty
 * security metadata, so `@Public()` leaves an `x-public` mark that becomes that here. Every
 * other operation declares its bearer security itself; redocly's `security-defined` rule (run
 * by the OpenAPI e2e test) fails any that does neither.
 */
function markPublicOperations(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method] as (Record<string, unknown> & { security?: unknown }) | undefined;
      if (!operation?.[OPENAPI_PUBLIC]) continue;
      delete operation[OPENAPI_PUBLIC];
      operation.security = [];
    }
  }
  return document;
}
