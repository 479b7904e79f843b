import { bearerTokenOf } from './bearer-token';

describe('bearerTokenOf (RFC 6750 §2.1)', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

  it.each([
    [`Bearer ${jwt}`, jwt],
    [`bearer ${jwt}`, jwt],
    [`BEARER ${jwt}`, jwt],
    [`bEaReR ${jwt}`, jwt],
    [`Bearer    ${jwt}`, jwt],
    ['Bearer abc-._~+/XYZ09==', 'abc-._~+/XYZ09=='],
  ])('reads %j', (header, token) => {
    expect(bearerTokenOf(header)).toBe(token);
  });

  it.each([
    [undefined],
    [''],
    ['Bearer'],
    ['Bearer '],
    [`Bearer ${jwt} garbage`],
    [`Bearer ${jwt} ${jwt}`],
    [`Bearer ${jwt} `],
    [`Bearer ${jwt}\t`],
    [`Bearer ${jwt}\n`],
    [` Bearer ${jwt}`],
    [`Bearer\t${jwt}`],
    [`Bearer,${jwt}`],
    [`Bearer=${jwt}`],
    [`Bearertoken`],
    [`Basic ${jwt}`],
    [`Token ${jwt}`],
    ['Bearer =abc'],
    ['Bearer ab=c'],
    ['Bearer a"b'],
    ['Bearer ab\u00e9'],
    [[`Bearer ${jwt}`, `Bearer ${jwt}`]],
  ])('finds no token in %j', (header) => {
    expect(bearerTokenOf(header)).toBeNull();
  });
});
