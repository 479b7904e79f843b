import type { INestApplication, Type } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, getSchemaPath, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { accessRuleProblems } from '../auth/access-rules';
import { OPENAPI_PUBLIC } from '../auth/auth.decorators';
import { Embeds, OPENAPI_EMBEDS } from '../http/embeds';
import { ERROR_DESCRIPTIONS } from './api-envelope.decorator';
import { ErrorEnvelopeDto } from './envelope.schemas';

type OperationObject = NonNullable<OpenAPIObject['paths'][string]['get']>;

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;

/**
 * Serves the Swagger UI at `/docs` and the OpenAPI 3 document at `/docs/json`. Refuses to start
 * when a route's access rule is missing, doubled, or contradicted by its documented errors
 * (`accessRuleProblems`): the document would say something the guard does not do.
 */
export function setupSwagger(app: INestApplication): void {
  assertAccessRules(app);
  const config = new DocumentBuilder()
    .setTitle('Modular monolith API')
    .setDescription(
      'REST API v1. Every response body is an envelope: `{ data, meta }` on success, `{ error: { code, message, details? }, meta }` on failure; ' +
        '`meta.requestId` matches the `X-Request-Id` header. Lists add `meta.pagination` (offset) or `meta.cursor` (cursor). ' +
        'Rate limits answer 429 `RATE_LIMITED` with a `Retry-After` header. Every answer outside `/docs` says `Cache-Control: no-store`. ' +
        'Any request can also be refused before it reaches a route, with the same envelope: 400 `BAD_REQUEST` (not valid HTTP, a path that does not decode, ' +
        'a JSON body that is malformed, not an object, nested over 16 levels, with over 1000 members, or with `__proto__`/`constructor`/`prototype` members), ' +
        '408 `REQUEST_TIMEOUT` (not received within HTTP_REQUEST_TIMEOUT), 413 `PAYLOAD_TOO_LARGE`, 415 `UNSUPPORTED_MEDIA_TYPE`, ' +
        '431 `HEADERS_TOO_LARGE` and, on routes with path parameters, 414 `URI_TOO_LONG`. The full contract is `docs/API.md` in the repository.',
    )
    .setVersion('1.0')
    // relative: the Swagger UI and clients call the origin that served the document
    .addServer('/', 'This server')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token from POST /api/v1/auth/login' })
    .build();
  config.info.license = { name: 'UNLICENSED' };
  const embeds = app.get(Embeds);
  const created = SwaggerModule.createDocument(app, config, { extraModels: embeds.all().map((embed) => embed.schema) });
  const document = documentEmbeds(documentUriTooLong(markPublicOperations(created)), embeds);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs/json',
    yamlDocumentUrl: 'docs/yaml',
    swaggerOptions: { persistAuthorization: true },
  });
}

function assertAccessRules(app: INestApplication): void {
  const controllers: Array<Type<unknown>> = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) if (wrapper.metatype) controllers.push(wrapper.metatype as Type<unknown>);
  }
  const problems = accessRuleProblems(controllers);
  if (problems.length > 0) throw new Error(`Access rules:\n  ${problems.join('\n  ')}`);
}

/**
 * `@Public()` operations say `security: []` (no token needed). @nestjs/swagger drops empty
 * security metadata, so `@Public()` leaves an `x-public` mark that becomes that here. Every
 * other operation declares its bearer security itself; redocly's `security-defined` rule (run
 * by the OpenAPI e2e test) fails any that does neither.
 */
function markPublicOperations(document: OpenAPIObject): OpenAPIObject {
  for (const { operation } of operationsOf(document)) {
    const marked = operation as unknown as Record<string, unknown>;
    if (!marked[OPENAPI_PUBLIC]) continue;
    delete marked[OPENAPI_PUBLIC];
    operation.security = [];
  }
  return document;
}

/**
 * `@ApiEmbeds(into, model)` operations: their `include` parameter lists the names registered into
 * `into`, and `model` gains each embed as an optional array member (only with its `include`).
 */
function documentEmbeds(document: OpenAPIObject, embeds: Embeds): OpenAPIObject {
  for (const { path, operation } of operationsOf(document)) {
    const marked = operation as unknown as Record<string, unknown>;
    const declared = marked[OPENAPI_EMBEDS] as { into: string; model: string } | undefined;
    if (!declared) continue;
    delete marked[OPENAPI_EMBEDS];
    const registered = embeds.of(declared.into);
    const model = document.components?.schemas?.[declared.model] as { properties?: Record<string, unknown> } | undefined;
    if (!model) throw new Error(`${path}: @ApiEmbeds names the model ${declared.model}, which the document does not have`);
    operation.parameters = (operation.parameters ?? []).filter((p) => !('name' in p && p.name === 'include'));
    if (registered.length === 0) continue;
    operation.parameters.push({
      name: 'include',
      in: 'query',
      required: false,
      description: registered.map((embed) => `\`${embed.name}\`: ${embed.description}`).join('; '),
      schema: { type: 'string', enum: registered.map((embed) => embed.name) },
    });
    model.properties ??= {};
    for (const embed of registered) {
      // the embed would overwrite a member of every item
      if (model.properties[embed.name]) throw new Error(`${declared.model} already has a member '${embed.name}': rename the embed`);
      model.properties[embed.name] = {
        type: 'array',
        items: { $ref: getSchemaPath(embed.schema) },
        description: `With \`include=${embed.name}\` only: ${embed.description}`,
      };
    }
  }
  return document;
}

/** The router refuses a path parameter over 100 characters with 414 `URI_TOO_LONG` before the route runs. */
function documentUriTooLong(document: OpenAPIObject): OpenAPIObject {
  for (const { path, operation } of operationsOf(document)) {
    if (!path.includes('{')) continue;
    operation.responses['414'] ??= {
      description: ERROR_DESCRIPTIONS[414]!,
      content: { 'application/json': { schema: { $ref: getSchemaPath(ErrorEnvelopeDto) } } },
    };
  }
  return document;
}

function* operationsOf(document: OpenAPIObject): Generator<{ path: string; operation: OperationObject }> {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) yield { path, operation };
    }
  }
}
