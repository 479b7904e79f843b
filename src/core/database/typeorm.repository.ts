import type { ObjectLiteral, Repository as OrmRepository, SelectQueryBuilder } from 'typeorm';
import { CursorPage, KeysetPosition, OffsetPage, sliceOf } from '../http/pagination';
import { Contains, FindManyOptions, PageOptions, Repository, SliceOptions, Where } from './repository.port';

/**
 * `Repository<T>` over TypeORM, written once. Module repositories extend it and add their own
 * finders; every query is parameterised and ordered with the id as a tie-breaker, so offset and
 * keyset pages are stable. A column the subclass names unique needs no tie-breaker: it is sorted
 * and sought alone, so its unique index serves a keyset page as a range (with the id appended,
 * MariaDB reads and sorts every row before the cursor).
 */
export abstract class TypeOrmRepository<T extends ObjectLiteral & { id: string }> implements Repository<T> {
  protected constructor(
    protected readonly orm: OrmRepository<T>,
    private readonly alias: string,
    private readonly uniqueColumns: ReadonlyArray<keyof T & string> = [],
  ) {}

  findById(id: string): Promise<T | null> {
    return this.orm.createQueryBuilder(this.alias).where(`${this.alias}.id = :id`, { id }).getOne();
  }

  findMany(options: FindManyOptions<T> = {}): Promise<T[]> {
    const query = this.filtered(options.where);
    const direction = options.orderDir === 'desc' ? 'DESC' : 'ASC';
    const sortColumn = options.orderBy ?? 'id';
    const column = `${this.alias}.${sortColumn}`;
    const tieBreak = sortColumn !== 'id' && !this.uniqueColumns.includes(sortColumn);
    if (options.after) {
      const op = direction === 'ASC' ? '>' : '<';
      const { value, id } = options.after;
      if (tieBreak) {
        // the first term bounds the index range (SQLite cannot bound one from the OR alone; it walks from the start)
        query.andWhere(`${column} ${op}= :afterValue AND (${column} ${op} :afterValue OR ${this.alias}.id ${op} :afterId)`, {
          afterValue: value,
          afterId: id,
        });
      } else {
        query.andWhere(`${column} ${op} :after`, { after: sortColumn === 'id' ? id : value });
      }
    }
    query.orderBy(column, direction);
    if (tieBreak) query.addOrderBy(`${this.alias}.id`, direction);
    if (options.limit !== undefined) query.limit(options.limit);
    if (options.offset !== undefined) query.offset(options.offset);
    return query.getMany();
  }

  /** Offset paging written once: page `page` (from 1) of `pageSize` rows, and the total, read in parallel. */
  async findPage(options: PageOptions<T>): Promise<OffsetPage<T>> {
    const { page, pageSize, ...sort } = options;
    const [items, total] = await Promise.all([
      this.findMany({ ...sort, limit: pageSize, offset: (page - 1) * pageSize }),
      this.count(options.where),
    ]);
    return new OffsetPage(items, page, pageSize, total);
  }

  /**
   * Keyset paging written once: up to `limit` rows after `after` in the chosen order, and the
   * cursor of the next slice (`encode`d from the last row's position) when more follow. The
   * position's value is the sort column's (a date as its ISO string).
   */
  async findSlice(options: SliceOptions<T>, encode: (position: KeysetPosition) => string): Promise<CursorPage<T>> {
    const rows = await this.findMany({ ...options, limit: options.limit + 1 });
    const column = options.orderBy ?? 'id';
    return sliceOf(rows, options.limit, (row) => ({ value: sortValueOf(row[column]), id: row.id }), encode);
  }

  count(where?: Where<T>): Promise<number> {
    return this.filtered(where).getCount();
  }

  async create(entity: T): Promise<T> {
    await this.orm.insert(entity);
    return entity;
  }

  async update(id: string, patch: Partial<T>): Promise<T | null> {
    const result = await this.orm.update(id, patch);
    if (!result.affected) return null;
    return this.findById(id);
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.orm.delete(id);
    return Boolean(result.affected);
  }

  protected filtered(where: Where<T> = {}): SelectQueryBuilder<T> {
    const query = this.orm.createQueryBuilder(this.alias);
    let index = 0;
    for (const [field, condition] of Object.entries(where) as Array<[string, unknown]>) {
      if (condition === undefined) continue;
      const param = `w${index++}`;
      if (isContains(condition)) {
        query.andWhere(`${this.alias}.${field} LIKE :${param} ESCAPE '!'`, {
          [param]: `%${condition.contains.replace(/[!%_]/g, '!$&')}%`,
        });
      } else {
        query.andWhere(`${this.alias}.${field} = :${param}`, { [param]: condition });
      }
    }
    return query;
  }
}

function sortValueOf(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value;
}

function isContains(value: unknown): value is Contains {
  return typeof value === 'object' && value !== null && 'contains' in value;
}
