import { canonicalEmail } from './canonical-email';

describe('canonicalEmail', () => {
  it('trims and lower-cases', () => {
    expect(canonicalEmail('  ADA@Example.com \t')).toBe('ada@example.com');
  });

  it('composes to NFC, so both encodings of one accented letter are one address', () => {
    const decomposed = 'a\u0301da@example.com';
    const precomposed = '\u00e1da@example.com';
    expect(canonicalEmail(decomposed)).toBe(precomposed);
    expect(canonicalEmail(precomposed.toUpperCase())).toBe(precomposed);
  });

  it('keeps accents: an accented spelling is another address', () => {
    expect(canonicalEmail('ádà@example.com')).not.toBe(canonicalEmail('ada@example.com'));
  });

  it('is idempotent', () => {
    for (const email of ['  ÁDA@Example.COM ', 'A\u0301DA@example.com', 'İstanbul@example.com', 'ß@example.com']) {
      expect(canonicalEmail(canonicalEmail(email))).toBe(canonicalEmail(email));
    }
  });
});
