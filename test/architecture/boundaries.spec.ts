import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/*
 * Module boundaries, checked by machine (see STYLE.md):
 * - core/ and config/ import no feature module;
 * - a feature module imports another module only through that module's index.ts;
 * - inside modules/, TypeORM appears only in repositories, entities, module files and the module's migrations/.
 */
const ROOT = resolve(__dirname, '..', '..');
const SRC = join(ROOT, 'src');
const IMPORT = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]([^'"]+)['"]/g;
const TYPEORM_FILE = /\.(repository|entity|module)\.ts$|\.spec\.ts$|[\\/]migrations[\\/][^\\/]+\.ts$/;

type Sources = Map<string, string>;

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listTs(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function moduleOf(path: string): string | null {
  const parts = relative(SRC, path).split(sep);
  return parts[0] === 'modules' && parts.length > 2 ? parts[1]! : null;
}

export function violations(sources: Sources): string[] {
  const found: string[] = [];
  for (const [file, text] of sources) {
    const where = relative(ROOT, file);
    const area = relative(SRC, file).split(sep)[0];
    const ownModule = moduleOf(file);
    for (const [, specifier] of text.matchAll(IMPORT)) {
      if (ownModule && /^(typeorm|@nestjs\/typeorm)$/.test(specifier!) && !TYPEORM_FILE.test(file)) {
        found.push(`${where}: TypeORM outside a repository/entity/module file`);
      }
      if (!specifier!.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier!);
      const targetModule = moduleOf(target.endsWith('.ts') ? target : `${target}.ts`) ?? moduleOf(join(target, 'x.ts'));
      if (!targetModule) continue;
      if ((area === 'core' || area === 'config') && targetModule) {
        found.push(`${where}: ${area}/ imports feature module "${targetModule}" (${specifier})`);
      } else if (ownModule && targetModule !== ownModule) {
        const entry = relative(join(SRC, 'modules', targetModule), target);
        if (entry !== '' && entry !== 'index') {
          found.push(`${where}: imports ${targetModule}'s internals (${specifier}); use modules/${targetModule}/index.ts`);
        }
      }
    }
  }
  return found;
}

/** Which feature modules each feature module's code (tests left out) imports. */
export function moduleGraph(sources: Sources): Record<string, string[]> {
  const graph: Record<string, Set<string>> = {};
  for (const [file, text] of sources) {
    const ownModule = moduleOf(file);
    if (!ownModule || file.endsWith('.spec.ts')) continue;
    graph[ownModule] ??= new Set();
    for (const [, specifier] of text.matchAll(IMPORT)) {
      if (!specifier!.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier!);
      const targetModule = moduleOf(target.endsWith('.ts') ? target : `${target}.ts`) ?? moduleOf(join(target, 'x.ts'));
      if (targetModule && targetModule !== ownModule) graph[ownModule].add(targetModule);
    }
  }
  return Object.fromEntries(Object.entries(graph).map(([module, targets]) => [module, [...targets].sort()]));
}

describe('architecture', () => {
  const sources: Sources = new Map(listTs(SRC).map((file) => [file, readFileSync(file, 'utf8')]));

  it('the source tree keeps the module boundaries', () => {
    expect(violations(sources)).toEqual([]);
  });

  it("the modules depend on each other as the README's module table says, users on none", () => {
    // a new edge is a design decision: change the README's "Module dependencies" with this list
    expect(moduleGraph(sources)).toEqual({
      users: [],
      auth: ['users'],
      accounts: [],
      audit: ['accounts', 'auth', 'users'],
    });
  });

  it('the checker catches each kind of violation', () => {
    const sources: Sources = new Map([
      [join(SRC, 'core', 'http', 'x.ts'), "import { UsersService } from '../../modules/users';"],
      [
        join(SRC, 'modules', 'accounts', 'accounts.service.ts'),
        "import { User } from '../users/user.entity';\nimport { Repository } from 'typeorm';",
      ],
      [join(SRC, 'modules', 'accounts', 'ok.service.ts'), "import { UsersService } from '../users';\nimport { x } from '../users/index';"],
      [join(SRC, 'modules', 'accounts', 'accounts.repository.ts'), "import { Repository } from 'typeorm';"],
    ]);
    expect(violations(sources)).toEqual([
      'src/core/http/x.ts: core/ imports feature module "users" (../../modules/users)',
      "src/modules/accounts/accounts.service.ts: imports users's internals (../users/user.entity); use modules/users/index.ts",
      'src/modules/accounts/accounts.service.ts: TypeORM outside a repository/entity/module file',
    ]);
  });
});
