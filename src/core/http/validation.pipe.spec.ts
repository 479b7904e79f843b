import type { ValidationError as ClassValidatorError } from '@nestjs/common';
import { flattenValidationErrors, validationErrorOf } from './validation.pipe';

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

describe('validationErrorOf', () => {
  it('keeps a small error as it is', () => {
    const error = validationErrorOf({ name: ['too short'] });
    expect(error.message).toBe('The request is not valid');
    expect(error.details).toEqual({ name: ['too short'] });
  });

  it('lists 20 fields, 5 messages each, and says how many fields were left out', () => {
    const fields = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`f${i}`, ['a', 'b', 'c', 'd', 'e', 'f']]));
    const error = validationErrorOf(fields);
    expect(Object.keys(error.details!)).toHaveLength(20);
    expect(error.details!.f0).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(error.message).toBe('The request is not valid; 5 more invalid field(s) not listed');
  });

  it('clips long paths and messages by code points', () => {
    const long = '😀'.repeat(300);
    const flat = flattenValidationErrors([node(long, { isString: `${long} must be a string` })]);
    const [path] = Object.keys(flat);
    expect(Array.from(path!)).toHaveLength(201);
    expect(path!.endsWith('…')).toBe(true);
    expect(path).not.toMatch(/\p{Cs}/u);
    expect(Array.from(flat[path!]![0]!)).toHaveLength(201);
  });
});
