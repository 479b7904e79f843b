import { JSON_BODY_LIMITS, jsonBodyProblem } from './json-body';

const deep = (levels: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
};

describe('jsonBodyProblem', () => {
  it('accepts the bodies this API takes', () => {
    expect(jsonBodyProblem({ email: 'a@example.com', password: 'x', name: 'A', roles: ['user', 'admin'] })).toBeNull();
    expect(jsonBodyProblem({})).toBeNull();
    expect(jsonBodyProblem({ name: 'emoji 😀 and RTL \u202e text\u0000' })).toBeNull();
  });

  it.each([[null], [[]], ['text'], [42], [true]])('refuses a top-level %p', (body) => {
    expect(jsonBodyProblem(body)).toBe('The request body must be a JSON object');
  });

  it('allows 16 levels and refuses 17, without recursion (100 000 levels)', () => {
    expect(jsonBodyProblem(deep(JSON_BODY_LIMITS.maxDepth))).toBeNull();
    expect(jsonBodyProblem(deep(JSON_BODY_LIMITS.maxDepth + 1))).toMatch(/nested more than 16 levels/);
    expect(jsonBodyProblem(deep(100_000))).toMatch(/nested more than 16 levels/);
  });

  it('counts members over the whole body, array elements included', () => {
    const wide = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 1]));
    expect(jsonBodyProblem(wide(1000))).toBeNull();
    expect(jsonBodyProblem(wide(1001))).toMatch(/more than 1000 members/);
    expect(jsonBodyProblem({ a: wide(600), b: wide(600) })).toMatch(/more than 1000 members/);
    expect(jsonBodyProblem({ a: new Array(1000).fill(0) })).toMatch(/more than 1000 members/);
  });

  it('refuses long member names and lone surrogates in names or values', () => {
    expect(jsonBodyProblem({ ['k'.repeat(128)]: 1 })).toBeNull();
    expect(jsonBodyProblem({ ['k'.repeat(129)]: 1 })).toMatch(/longer than 128/);
    expect(jsonBodyProblem({ a: ['ok', 'x\ud800'] })).toMatch(/not valid Unicode/);
    expect(jsonBodyProblem({ '\udc00': 1 })).toMatch(/not valid Unicode/);
  });

  it.each([['__proto__'], ['constructor'], ['prototype']])('refuses a %s member at any depth', (name) => {
    const body = JSON.parse(`{"a":{"b":[{"${name}":{}}]}}`) as unknown;
    expect(jsonBodyProblem(body)).toBe('The request body may not contain __proto__, constructor or prototype members');
  });
});
