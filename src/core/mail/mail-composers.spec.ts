import { MailComposers } from './mail-composers';

describe('MailComposers', () => {
  it('finds a kind by name and refuses a second composer for it', () => {
    const composers = new MailComposers();
    const composer = () => Promise.resolve(null);
    composers.register('auth.password_reset', composer);
    expect(composers.get('auth.password_reset')).toBe(composer);
    expect(composers.get('auth.email_verify')).toBeUndefined();
    expect(() => composers.register('auth.password_reset', composer)).toThrow('registered already');
  });
});
