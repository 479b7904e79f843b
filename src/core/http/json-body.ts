import type { FastifyInstance } from 'fastify';
import { BadRequestError } from '../errors/app-error';

/**
 * Bounds on the shape of a JSON body, checked as soon as it is parsed, before class-transformer
 * and class-validator see it: their recursion overflows the stack on a few thousand levels
 * (a 500), and every unknown key costs a validation error (9 000 keys took 160 ms and answered
 * 394 kB). Our DTOs are flat (depth 1–2, a handful of fields), so no client comes near these.
 */
export const JSON_BODY_LIMITS = {
  /** Levels of objects/arrays, the body itself being level 1. */
  maxDepth: 16,
  /** Object members plus array elements, counted over the whole body. */
  maxMembers: 1000,
  /** Characters in one member name (names are echoed in validation errors). */
  maxKeyLength: 128,
} as const;

/** A lone UTF-16 surrogate: text that has no UTF-8 form, so it cannot be stored as sent. */
const LONE_SURROGATE = /\p{Cs}/u;
const POISONING_MEMBER = /"(?:__proto__|constructor)"\s*:/;
/**
 * Never the name of a DTO field. class-transformer drops them silently (so they would neither
 * pollute nor be refused as unknown): refused here, the same as every other unknown member.
 */
const PROTOTYPE_MEMBERS = new Set(['__proto__', 'constructor', 'prototype']);
const PROTOTYPE_MESSAGE = 'The request body may not contain __proto__, constructor or prototype members';

/**
 * Replaces Fastify's JSON parser with the same parser (secure-json-parse: `__proto__` and
 * `constructor.prototype` members are refused, never assigned) followed by the shape check.
 * Every refusal is 400 `BAD_REQUEST`: the body as a whole is unacceptable, before any field
 * has been validated (so there is no field path for `VALIDATION_ERROR` details).
 */
export function registerJsonBodyParser(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, raw, done) => {
    const body = raw.toString();
    void parse(request, body, (error, value) => {
      if (error) {
        done(isPoisoningAttempt(body) ? new BadRequestError(PROTOTYPE_MESSAGE) : error, undefined);
        return;
      }
      const problem = jsonBodyProblem(value);
      done(problem === null ? null : new BadRequestError(problem), problem === null ? value : undefined);
    });
  });
}

/** Why the parsed body is refused, or null. Iterative: the walk itself cannot overflow the stack. */
export function jsonBodyProblem(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'The request body must be a JSON object';
  const { maxDepth, maxMembers, maxKeyLength } = JSON_BODY_LIMITS;
  const pending: Array<{ value: unknown; depth: number }> = [{ value: body, depth: 1 }];
  let members = 0;
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, depth } = next;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) return 'The request body contains text that is not valid Unicode';
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > maxDepth) return `The request body is nested more than ${maxDepth} levels deep`;
    members += Array.isArray(value) ? value.length : Object.keys(value).length;
    if (members > maxMembers) return `The request body has more than ${maxMembers} members`;
    const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((item) => ['', item]) : Object.entries(value);
    for (const [key, item] of entries) {
      if (key.length > maxKeyLength) return `The request body has a member name longer than ${maxKeyLength} characters`;
      if (LONE_SURROGATE.test(key)) return 'The request body contains text that is not valid Unicode';
      if (PROTOTYPE_MEMBERS.has(key)) return PROTOTYPE_MESSAGE;
      pending.push({ value: item, depth: depth + 1 });
    }
  }
  return null;
}

/** Whether a body that failed to parse was valid JSON refused for a poisoning member (a clearer message). */
function isPoisoningAttempt(body: string): boolean {
  if (!POISONING_MEMBER.test(body)) return false;
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}
