import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Serves the Swagger UI at `/docs` and the OpenAPI 3 document at `/docs/json`. */
export function setupSwagger(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Modular monolith API')
    .setDescription(
      'REST API v1. Every response body is an envelope: `{ data, meta }` on success, `{ error: { code, message, details? }, meta }` on failure; ' +
        '`meta.requestId` matches the `X-Request-Id` header. Lists add `meta.pagination` (offset) or `meta.cursor` (cursor). ' +
        'Rate limits answer 429 `RATE_LIMITED` with a `Retry-After` header.',
    )
    .setVersion('1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token from POST /api/v1/auth/login' })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs/json',
    yamlDocumentUrl: 'docs/yaml',
    swaggerOptions: { persistAuthorization: true },
  });
}
