import { assertHeaderSafe, toNodemailerMessage } from './mail-transport';

describe('mail headers', () => {
  const message = { to: 'ada@example.com', subject: 'Reset your password', text: 'text', html: '<p>html</p>' };

  it('pass a plain address and subject through', () => {
    expect(toNodemailerMessage('App <no-reply@example.com>', message)).toEqual({ from: 'App <no-reply@example.com>', ...message });
  });

  it.each([
    ['to', 'ada@example.com\r\nBcc: eve@example.com'],
    ['to', 'ada@example.com\nBcc: eve@example.com'],
    ['subject', 'Reset\r\nBcc: eve@example.com'],
    ['subject', 'Reset\rX-Injected: 1'],
    ['subject', 'Reset\u0000'],
  ] as const)('refuse a control character in %s (%j)', (field, value) => {
    expect(() => toNodemailerMessage('no-reply@example.com', { ...message, [field]: value })).toThrow(
      `mail ${field} holds a control character`,
    );
  });

  it.each(['ada@example.com, eve@example.com', 'ada@example.com; eve@example.com', 'friends: ada@example.com, eve@example.com;', ''])(
    'refuse a recipient that is not exactly one address (%j)',
    (to) => {
      expect(() => assertHeaderSafe('to', to)).toThrow('mail to must be exactly one address');
    },
  );
});
