/** What a service returns for an offset-paginated list; the envelope adds `meta.pagination`. */
export class OffsetPage<T> {
  constructor(
    readonly items: T[],
    readonly page: number,
    readonly pageSize: number,
    readonly total: number,
  ) {}

  get totalPages(): number {
    return Math.ceil(this.total / this.pageSize);
  }

  map<U>(fn: (item: T) => U): OffsetPage<U> {
    return new OffsetPage(this.items.map(fn), this.page, this.pageSize, this.total);
  }
}

/** What a service returns for a cursor-paginated list; the envelope adds `meta.cursor`. */
export class CursorPage<T> {
  constructor(
    readonly items: T[],
    /** Opaque cursor of the next page, or null on the last one. */
    readonly next: string | null,
    readonly limit: number,
  ) {}

  map<U>(fn: (item: T) => U): CursorPage<U> {
    return new CursorPage(this.items.map(fn), this.next, this.limit);
  }
}

/** Where a keyset page stops: the last row's sort value and id (the tie-breaker). */
export interface KeysetPosition {
  value: unknown;
  id: string;
}

/**
 * Keyset paging's bookkeeping, written once: `rows` was fetched with `limit + 1`; the extra row
 * only says that more follow, and the cursor is the position of the last row kept.
 */
export function sliceOf<T>(
  rows: T[],
  limit: number,
  positionOf: (row: T) => KeysetPosition,
  encode: (position: KeysetPosition) => string,
): CursorPage<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return new CursorPage(items, rows.length > limit && last !== undefined ? encode(positionOf(last)) : null, limit);
}
