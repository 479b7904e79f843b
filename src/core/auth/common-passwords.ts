import { dictionary } from '@zxcvbn-ts/language-common';

/**
 * The most common passwords (OWASP ASVS 6.2.4): zxcvbn-ts's maintained list of about 50 000,
 * from leaked-password corpora, all lower case. Loaded once at start (about 35 ms and 4 MB of
 * heap, the package's other lists included); a lookup is a Set probe.
 */
const COMMON = new Set(dictionary['passwords-common'].map((password) => password.toLowerCase()));

/** True for a password on the list, in any letter case ("Password", "PASSWORD"). */
export function isCommonPassword(password: string): boolean {
  return COMMON.has(password.toLowerCase());
}
