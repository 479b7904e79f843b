import { Injectable, PipeTransform, ArgumentMetadata } from '@nestjs/common';
import { ValidationError } from '../errors/app-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path parameter that must be a UUID: anything else is 400 `VALIDATION_ERROR`. */
@Injectable()
export class UuidParamPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    if (!UUID.test(value)) {
      const field = metadata.data ?? 'id';
      throw new ValidationError({ [field]: [`${field} must be a UUID`] });
    }
    return value.toLowerCase();
  }
}
