import { ArgumentMetadata, ValidationPipe, type ValidationError as ClassValidatorError } from '@nestjs/common';
import { FieldErrors, ValidationError } from '../errors/app-error';

/** Bounds on a `VALIDATION_ERROR` body: a hostile request cannot make the answer large. */
export const VALIDATION_DETAILS_LIMITS = {
  /** Fields listed in `details`; the message says how many more failed. */
  maxFields: 20,
  maxMessagesPerField: 5,
  /** Characters of one field path or message (both can echo a client's member name). */
  maxTextLength: 200,
} as const;

/**
 * The global pipe: strips nothing silently (unknown fields are rejected), converts query and
 * path strings to the DTO's types, and answers 400 `VALIDATION_ERROR` with dotted field paths.
 */
export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => validationErrorOf(flattenValidationErrors(errors)),
  });
}

/**
 * Nest's ValidationPipe, without its pass over values it leaves as they are: a `string` path or
 * query parameter (no class to validate, nothing to convert; a UUID parameter is checked by its
 * own `UuidParamPipe`) and a custom decorator's value (`@CurrentUser()`, not validated). It would
 * answer the same, one async call later, on every request.
 */
class AppValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'custom' || metadata.metatype === String) return Promise.resolve(value);
    return super.transform(value, metadata) as Promise<unknown>;
  }
}

/** The error for these field errors, listing at most `maxFields` of them. */
export function validationErrorOf(fields: FieldErrors): ValidationError {
  const { maxFields, maxMessagesPerField } = VALIDATION_DETAILS_LIMITS;
  const paths = Object.keys(fields);
  if (paths.length <= maxFields && paths.every((path) => fields[path]!.length <= maxMessagesPerField)) {
    return new ValidationError(fields);
  }
  const listed: FieldErrors = {};
  for (const path of paths.slice(0, maxFields)) listed[path] = fields[path]!.slice(0, maxMessagesPerField);
  const omitted = paths.length - maxFields;
  return new ValidationError(
    listed,
    omitted > 0 ? `The request is not valid; ${omitted} more invalid field(s) not listed` : 'The request is not valid',
  );
}

export function flattenValidationErrors(errors: ClassValidatorError[], parent = ''): FieldErrors {
  const fields: FieldErrors = {};
  for (const error of errors) {
    const path = parent ? `${parent}.${error.property}` : error.property;
    if (error.constraints) {
      const key = clip(path);
      fields[key] = [...(fields[key] ?? []), ...Object.values(error.constraints).map(clip)];
    }
    if (error.children?.length) {
      Object.assign(fields, flattenValidationErrors(error.children, path));
    }
  }
  return fields;
}

function clip(text: string): string {
  const { maxTextLength } = VALIDATION_DETAILS_LIMITS;
  // by code points, so a cut never leaves half of a surrogate pair
  return text.length <= maxTextLength ? text : `${Array.from(text).slice(0, maxTextLength).join('')}…`;
}
