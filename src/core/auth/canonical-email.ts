/**
 * The one spelling of an email address that is stored, looked up, compared and rate-limited:
 * trimmed, lower-cased, Unicode NFC (so a precomposed "é" and "e" + U+0301 are one address).
 * Nothing else is folded: an accented spelling is another address. The database compares the
 * column byte for byte (utf8mb4_bin on MySQL/MariaDB, BINARY on SQLite), so this function alone
 * decides which spellings are the same account.
 */
export function canonicalEmail(email: string): string {
  return email.trim().toLowerCase().normalize('NFC');
}
