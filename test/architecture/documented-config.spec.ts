import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** Every variable `loadConfig` reads, taken from its source so a new one cannot be missed. */
function configVariables(): string[] {
  const source = read('src/config/app-config.ts');
  const names = new Set<string>();
  for (const match of source.matchAll(/(?:read\.\w+\(|readSecret\(env, )'([A-Z][A-Z0-9_]*)'|\benv\.([A-Z][A-Z0-9_]*)/g)) {
    names.add(match[1] ?? match[2]!);
  }
  return [...names].sort();
}

/** The configuration is documented where operators look: the contract, the README and `.env.example`. */
describe('documented configuration', () => {
  const variables = configVariables();

  it('finds the variables the code reads', () => {
    expect(variables).toEqual(expect.arrayContaining(['DATABASE_URL', 'APP_SECRET', 'HTTP_REQUEST_TIMEOUT', 'DB_LOCK_TIMEOUT']));
  });

  it.each(['docs/API.md', 'README.md', '.env.example'])('%s names every variable', (file) => {
    const text = read(file);
    const missing = variables.filter((name) => !new RegExp(`\\b${name}\\b`).test(text));
    expect({ file, missing }).toEqual({ file, missing: [] });
  });
});
