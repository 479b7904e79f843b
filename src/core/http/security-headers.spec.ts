import { securityHeaderSets } from './security-headers';

describe('securityHeaderSets', () => {
  const { http, https } = securityHeaderSets();

  it('sends HSTS and upgrade-insecure-requests over HTTPS only', () => {
    expect(https['Strict-Transport-Security']).toBe('max-age=31536000; includeSubDomains');
    expect(https['Content-Security-Policy']).toContain('upgrade-insecure-requests');
    expect(http['Strict-Transport-Security']).toBeUndefined();
    expect(http['Content-Security-Policy']).not.toContain('upgrade-insecure-requests');
  });

  it('is otherwise the same set, with the CSP the Swagger UI needs', () => {
    const { 'Strict-Transport-Security': _hsts, 'Content-Security-Policy': secureCsp, ...secureRest } = https;
    const { 'Content-Security-Policy': plainCsp, ...plainRest } = http;
    expect(plainRest).toEqual(secureRest);
    expect(secureCsp).toBe(`${plainCsp};upgrade-insecure-requests`);
    expect(plainCsp).toContain("script-src 'self'");
    expect(plainCsp).toContain("style-src 'self' 'unsafe-inline'");
    expect(http['X-Content-Type-Options']).toBe('nosniff');
  });
});
