import { DataSource } from 'typeorm';
import { TestApp } from './test-app';

/** Hostile input for the hostile-input suite: values are raw JSON text, so `-0` and 2^64 stay as sent. */

const deepObject = `{"a":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
const deepArray = `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`;
const wideObject = `{${Array.from({ length: 9000 }, (_, i) => `"k${i}":1`).join(',')}}`;

/** Bodies refused whatever the route: not an object, too deep or wide, prototype members, not JSON. */
export const EDGE_BODIES: Array<[string, string]> = [
  ['array', '[1,2]'],
  ['empty array', '[]'],
  ['string', '"hostile"'],
  ['number', '42'],
  ['huge number', '1e308'],
  ['null', 'null'],
  ['true', 'true'],
  ['5 000-deep object', deepObject],
  ['5 000-deep array', deepArray],
  ['9 000 members', wideObject],
  ['__proto__', '{"__proto__":{"polluted":true}}'],
  ['nested __proto__', '{"a":{"__proto__":{"polluted":true}}}'],
  ['constructor.prototype', '{"constructor":{"prototype":{"polluted":true}}}'],
  ['prototype', '{"prototype":{"polluted":true}}'],
  ['lone surrogate', '{"name":"\\ud800"}'],
  ['long member name', `{"${'k'.repeat(500)}":1}`],
  ['malformed JSON', '{"a":'],
  ['trailing garbage', '{"a":1} x'],
];

/** Values put into every property of a route's body. */
export const HOSTILE_VALUES: Array<[string, string]> = [
  ['empty string', '""'],
  ['blank', '"   "'],
  ['NUL bytes', '"a\\u0000b\\u0000"'],
  ['RTL override', '"\\u202egnp.exe"'],
  ['10 kB string', JSON.stringify('x'.repeat(10_000))],
  ['emoji', JSON.stringify('😀👍🏽🏳️‍🌈'.repeat(10))],
  ['SQL injection', `"' OR 1=1 --"`],
  ['markup', '"<script>alert(1)</script>"'],
  ['path', '"../../etc/passwd"'],
  ['number as string', '"42"'],
  ['float as string', '"1.5"'],
  ['NaN as string', '"NaN"'],
  ['Infinity as string', '"Infinity"'],
  ['hex as string', '"0x10"'],
  ['2^64 as string', '"18446744073709551616"'],
  ['zero', '0'],
  ['negative zero', '-0'],
  ['negative', '-1'],
  ['float', '1.5'],
  ['tiny float', '1e-308'],
  ['huge', '1e308'],
  ['2^53 + 1', '9007199254740993'],
  ['2^64', '18446744073709551616'],
  ['negative huge', '-1e308'],
  ['null', 'null'],
  ['true', 'true'],
  ['false', 'false'],
  ['empty array', '[]'],
  ['array of strings', '["user","admin","admin"]'],
  ['array with null', '[null]'],
  ['empty object', '{}'],
  ['object', '{"a":1}'],
];

/** Path ids. `{real}` becomes a real id (only on reads, where it must never change anything). */
export const HOSTILE_IDS: Array<[string, string]> = [
  ['not a UUID', 'not-a-uuid'],
  ['upper-case UUID', '{upper}'],
  ['UUID with trailing text', '{uuid}x'],
  ['UUID with trailing NUL', '{uuid}%00'],
  ['1000 digits', '1'.repeat(1000)],
  ['bad percent-encoding', '%E0%A4%A'],
  ['lone percent', '%'],
  ['dot-dot-slash', '..%2f..%2fetc%2fpasswd'],
  ['encoded dots', '%2e%2e'],
  ['NUL', '%00'],
  ['nil UUID', '00000000-0000-0000-0000-000000000000'],
  ['SQL injection', "'%20OR%201%3D1%20--"],
  ['emoji', '%F0%9F%98%80'],
  ['space', '%20'],
];

/** Query strings for a list, given its documented parameters. */
export function hostileQueries(parameters: string[]): string[] {
  const values = [
    '',
    '0',
    '-1',
    '1.5',
    '1e308',
    '99999999999999999999',
    '0x10',
    'NaN',
    "'%20OR%201%3D1%20--",
    '%00',
    '%E0%A4%A',
    'x'.repeat(2000),
    'password_hash',
    'id%3BDROP%20TABLE%20users',
    'xx.yy',
  ];
  const queries: string[] = [];
  for (const name of [...parameters, 'unknown', 'a[]', '__proto__', 'constructor']) {
    for (const value of values) queries.push(`${name}=${value}`);
    queries.push(`${name}=1&${name}=2`, `${name}[]=1`, `${name}[a]=1`, `${name}`);
  }
  queries.push('page=1&limit=1', `${'q'.repeat(3000)}=1`, '&&&', '=1');
  return queries;
}

export interface Operation {
  method: string;
  /** The OpenAPI path (`/api/v1/users/{id}`). */
  path: string;
  operation: Record<string, any>;
}

/** Every operation under /api/v1 in the application's own OpenAPI document. */
export function apiOperations(doc: Record<string, any>): Operation[] {
  return Object.entries(doc.paths as Record<string, Record<string, any>>)
    .filter(([path]) => path.startsWith('/api/v1/'))
    .flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
        .map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
    );
}

/** The request body schema of an operation (resolved), or null when it takes none. */
export function bodySchema(
  doc: Record<string, any>,
  operation: Record<string, any>,
): { properties: Record<string, any>; required: string[] } | null {
  const schema = operation.requestBody?.content?.['application/json']?.schema;
  if (!schema) return null;
  const resolved = schema.$ref ? doc.components.schemas[String(schema.$ref).split('/').pop()!] : schema;
  return { properties: resolved.properties ?? {}, required: resolved.required ?? [] };
}

/** Whether a GET answers a list (`data` is an array). */
export function isList(operation: Record<string, any>): boolean {
  return operation.responses?.['200']?.content?.['application/json']?.schema?.properties?.data?.type === 'array';
}

/** Every row of every table the entities map, to compare before and after. */
export async function databaseSnapshot(t: TestApp): Promise<Record<string, string[]>> {
  const dataSource = t.app.get(DataSource);
  const snapshot: Record<string, string[]> = {};
  for (const table of dataSource.entityMetadatas.map((m) => m.tableName).sort()) {
    const rows: unknown[] = await dataSource.query(`SELECT * FROM ${dataSource.driver.escape(table)}`);
    snapshot[table] = rows.map((row) => JSON.stringify(row)).sort();
  }
  return snapshot;
}
