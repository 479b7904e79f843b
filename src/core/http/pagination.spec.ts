import { sliceOf } from './pagination';

describe('sliceOf', () => {
  const encode = (position: { value: unknown; id: string }) => `${String(position.value)}|${position.id}`;
  const rows = [1, 2, 3, 4].map((n) => ({ id: `id${n}`, rank: n * 10 }));
  const positionOf = (row: { id: string; rank: number }) => ({ value: row.rank, id: row.id });

  it('keeps `limit` rows and encodes the last kept row when the extra row says more follow', () => {
    const page = sliceOf(rows, 3, positionOf, encode);
    expect(page.items.map((row) => row.id)).toEqual(['id1', 'id2', 'id3']);
    expect(page.next).toBe('30|id3');
    expect(page.limit).toBe(3);
  });

  it('has no next cursor on the last slice, full or short', () => {
    expect(sliceOf(rows, 4, positionOf, encode).next).toBeNull();
    expect(sliceOf(rows.slice(0, 2), 4, positionOf, encode).next).toBeNull();
    expect(sliceOf([], 4, positionOf, encode)).toMatchObject({ items: [], next: null });
  });
});
