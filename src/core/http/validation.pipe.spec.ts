import type { ValidationError as ClassValidatorError } from '@nestjs/common';
import { flattenValidationErrors } from './validation.pipe';

function node(property: string, constraints?: Record<string, string>, children: ClassValidatorError[] = []): ClassValidatorError {
  return { property, constraints, children };
}

describe('flattenValidationErrors', () => {
  it('maps nested and array errors to dotted paths with every message', () => {
    const errors = [
      node('email', { isEmail: 'email must be an email', maxLength: 'email is too long' }),
      node('address', undefined, [node('zip', { matches: 'zip is invalid' })]),
      node('items', undefined, [node('0', undefined, [node('amount', { isInt: 'amount must be an integer' })])]),
    ];
    expect(flattenValidationErrors(errors)).toEqual({
      email: ['email must be an email', 'email is too long'],
      'address.zip': ['zip is invalid'],
      'items.0.amount': ['amount must be an integer'],
    });
  });
});
