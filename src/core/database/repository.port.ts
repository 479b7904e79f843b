/** Matches rows whose column contains the given text (LIKE '%text%', wildcards escaped). */
export interface Contains {
  contains: string;
}

export type Where<T> = { [K in keyof T]?: T[K] | Contains };

export interface FindManyOptions<T> {
  where?: Where<T>;
  orderBy?: keyof T & string;
  orderDir?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
  /** Keyset pagination: rows strictly after this (sort value, id) in the chosen order. */
  after?: { value: unknown; id: string };
}

export type PageOptions<T> = Pick<FindManyOptions<T>, 'where' | 'orderBy' | 'orderDir'> & { page: number; pageSize: number };

export type SliceOptions<T> = Pick<FindManyOptions<T>, 'where' | 'orderBy' | 'orderDir' | 'after'> & { limit: number };

/**
 * The repository port every feature module shares. Services depend on this shape (and on
 * their repository's extra finders); TypeORM stays behind `TypeOrmRepository`.
 */
export interface Repository<T extends { id: string }> {
  findById(id: string): Promise<T | null>;
  findMany(options?: FindManyOptions<T>): Promise<T[]>;
  count(where?: Where<T>): Promise<number>;
  create(entity: T): Promise<T>;
  /** Applies the patch; null when no row has that id. */
  update(id: string, patch: Partial<T>): Promise<T | null>;
  /** True when a row was deleted. */
  delete(id: string): Promise<boolean>;
}
