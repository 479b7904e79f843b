import { loadConfig } from '../../config/app-config';
import { KeyRing } from '../crypto/key-ring';
import { BadRequestError } from '../errors/app-error';
import { CursorCodec } from './cursor';

describe('CursorCodec', () => {
  const keys = new KeyRing(loadConfig({ APP_SECRET: 'cursor-test-secret' }));
  const users = new CursorCodec(keys.key('cursor:users'));
  const position = { value: 'ada@example.com', id: '0193a1f2-7c3e-7d1a-9b2e-5f0c3a9e1d42' };

  it('decodes what it encoded, for the same scope', () => {
    expect(users.decode('email:asc', users.encode('email:asc', position))).toEqual(position);
  });

  it('refuses a cursor of another scope (query) with 400 BAD_REQUEST', () => {
    expect(() => users.decode('name:asc', users.encode('email:asc', position))).toThrow(BadRequestError);
  });

  it('refuses a cursor signed for another purpose, even for the same scope', () => {
    const ledger = new CursorCodec(keys.key('cursor:ledger'));
    expect(() => ledger.decode('email:asc', users.encode('email:asc', position))).toThrow(BadRequestError);
  });

  it.each([['x'], ['x.y'], ['x.y.z'], ['.'], ['']])('refuses the malformed cursor %p', (cursor) => {
    expect(() => users.decode('email:asc', cursor)).toThrow(BadRequestError);
  });

  it('refuses an altered payload', () => {
    const [, signature] = users.encode('email:asc', position).split('.');
    const forged = Buffer.from(JSON.stringify(['eve@example.com', position.id])).toString('base64url');
    expect(() => users.decode('email:asc', `${forged}.${signature}`)).toThrow(BadRequestError);
  });
});
