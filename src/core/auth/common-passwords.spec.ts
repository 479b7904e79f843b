import { isCommonPassword } from './common-passwords';

describe('isCommonPassword', () => {
  it.each(['password', '12345678', 'PASSWORD', 'Password', 'qwertyuiop', 'iloveyou', 'password123', 'passw0rd'])(
    'refuses %j',
    (password) => {
      expect(isCommonPassword(password)).toBe(true);
    },
  );

  it.each(['password-123', 'correct horse', 'admin-password-123', 'new-password-456', 'very-secret-password-1', 'x7#Lq9!vTz'])(
    'accepts %j',
    (password) => {
      expect(isCommonPassword(password)).toBe(false);
    },
  );
});
