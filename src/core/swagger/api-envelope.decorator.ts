import { applyDecorators, SetMetadata, Type } from '@nestjs/common';
import { ApiExtraModels, ApiNoContentResponse, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { CursorPageMetaDto, ErrorEnvelopeDto, OffsetPageMetaDto, ResponseMetaDto } from './envelope.schemas';

export const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: '`VALIDATION_ERROR` (details: field path → messages) or `BAD_REQUEST` (malformed JSON, a body that is not an object or is too deep or wide, bad cursor)',
  401: '`UNAUTHORIZED`: missing, invalid, expired or revoked credentials',
  403: '`FORBIDDEN`: lacks the role, or not the owner',
  404: '`NOT_FOUND` (details: {resource, id})',
  408: '`REQUEST_TIMEOUT`: the request did not arrive in full within HTTP_REQUEST_TIMEOUT',
  409: '`CONFLICT`',
  413: '`PAYLOAD_TOO_LARGE`: body over BODY_LIMIT',
  414: '`URI_TOO_LONG`: a path parameter over 100 characters',
  415: '`UNSUPPORTED_MEDIA_TYPE`: the body is not JSON',
  422: 'A business rule refused the request (see the error code)',
  429: '`RATE_LIMITED`; the Retry-After header says when to retry',
  431: '`HEADERS_TOO_LARGE`: request line and headers over 16 kB',
  500: '`INTERNAL_ERROR`: a bug; the message is generic',
  503: '`SERVICE_UNAVAILABLE`: a dependency is down; retry later',
};

/** The `errors` a route's `@ApiEnvelope` lists (the access-rule check reads them). */
export const API_ENVELOPE_ERRORS = 'app:api-envelope-errors';

/** Errors every `/api/v1` route can answer with. */
const COMMON_API_ERRORS = [429, 500, 503];

export interface ApiEnvelopeOptions {
  status?: number;
  description?: string;
  /** The payload is a list; `offset` / `cursor` add the matching `meta` block. */
  list?: 'plain' | 'offset' | 'cursor';
  /**
   * Error statuses this route can answer with besides the common ones. Not 401 on an `@Auth`
   * route, nor 403 on an `@Auth({ roles })` one: `@Auth` documents those (start-up refuses both).
   */
  errors?: number[];
  /** Set false for routes outside `/api/v1` (not rate limited). */
  commonErrors?: boolean;
}

/**
 * Documents a route's enveloped success (`{ data: <model>, meta }`) and its error envelopes.
 * `model` null documents a 204 with no body.
 */
export function ApiEnvelope(model: Type<unknown> | null, options: ApiEnvelopeOptions = {}): MethodDecorator {
  const { status = 200, list, errors = [], commonErrors = true } = options;
  const errorStatuses = [...new Set([...errors, ...(commonErrors ? COMMON_API_ERRORS : [])])].sort();
  const metaModel = list === 'offset' ? OffsetPageMetaDto : list === 'cursor' ? CursorPageMetaDto : ResponseMetaDto;
  const success =
    model === null
      ? ApiNoContentResponse({ description: options.description ?? 'Done; no body' })
      : ApiResponse({
          status,
          description: options.description ?? 'Success',
          schema: {
            type: 'object',
            required: ['data', 'meta'],
            properties: {
              data: list ? { type: 'array', items: { $ref: getSchemaPath(model) } } : { $ref: getSchemaPath(model) },
              meta: { $ref: getSchemaPath(metaModel) },
            },
          },
        });
  return applyDecorators(
    SetMetadata(API_ENVELOPE_ERRORS, errors),
    ApiExtraModels(...(model ? [model] : []), metaModel, ErrorEnvelopeDto),
    success,
    ...errorStatuses.map((code) => ApiResponse({ status: code, description: ERROR_DESCRIPTIONS[code] ?? 'Error', type: ErrorEnvelopeDto })),
  );
}
