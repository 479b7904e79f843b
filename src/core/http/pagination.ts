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
