import { createHmac, timingSafeEqual } from 'node:crypto';
import { BadRequestError } from '../errors/app-error';

export interface CursorPosition {
  /** The sort key's value of the last row returned. */
  value: unknown;
  id: string;
}

/**
 * Opaque, signed cursors: base64url(JSON) + HMAC. A cursor is bound to the list's sort and
 * filters, so reusing it with a different query, or altering it, is a 400 `BAD_REQUEST`.
 * The key is the list's own (`KeyRing.key('cursor:<list>')`), so a cursor of one list is
 * refused by another and rotating a JWT secret leaves cursors valid.
 */
export class CursorCodec {
  constructor(private readonly key: Buffer) {}

  encode(scope: string, position: CursorPosition): string {
    const payload = Buffer.from(JSON.stringify([position.value, position.id])).toString('base64url');
    return `${payload}.${this.sign(scope, payload)}`;
  }

  decode(scope: string, cursor: string): CursorPosition {
    const [payload, signature, ...rest] = cursor.split('.');
    const expected = payload ? this.sign(scope, payload) : '';
    if (!payload || !signature || rest.length > 0 || !safeEqual(signature, expected)) {
      throw new BadRequestError('The cursor is invalid or does not belong to this query');
    }
    try {
      const [value, id] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [unknown, unknown];
      if (typeof id !== 'string') throw new Error('bad id');
      return { value, id };
    } catch {
      throw new BadRequestError('The cursor is invalid or does not belong to this query');
    }
  }

  private sign(scope: string, payload: string): string {
    return createHmac('sha256', this.key).update(scope).update('\0').update(payload).digest('base64url').slice(0, 22);
  }
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
