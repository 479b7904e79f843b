import { ValidationPipe, type ValidationError as ClassValidatorError } from '@nestjs/common';
import { FieldErrors, ValidationError } from '../errors/app-error';

/**
 * The global pipe: strips nothing silently (unknown fields are rejected), converts query and
 * path strings to the DTO's types, and answers 400 `VALIDATION_ERROR` with dotted field paths.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new ValidationError(flattenValidationErrors(errors)),
  });
}

export function flattenValidationErrors(errors: ClassValidatorError[], parent = ''): FieldErrors {
  const fields: FieldErrors = {};
  for (const error of errors) {
    const path = parent ? `${parent}.${error.property}` : error.property;
    if (error.constraints) {
      fields[path] = [...(fields[path] ?? []), ...Object.values(error.constraints)];
    }
    if (error.children?.length) {
      Object.assign(fields, flattenValidationErrors(error.children, path));
    }
  }
  return fields;
}
