import { INestApplicationContext, Injectable, Module } from '@nestjs/common';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { Column, DataSource, Entity, PrimaryColumn, Repository as OrmRepository } from 'typeorm';
import { TypeOrmRepository } from '../../src/core/database/typeorm.repository';
import { startDatabaseContext } from '../support/integration-context';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';

@Entity('probe_items')
class ProbeItem {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 20 })
  kind: string;

  @Column({ type: 'varchar', length: 40 })
  name: string;
}

@Injectable()
class ProbeItems extends TypeOrmRepository<ProbeItem> {
  constructor(@InjectRepository(ProbeItem) orm: OrmRepository<ProbeItem>) {
    super(orm, 'item');
  }
}

@Module({ imports: [TypeOrmModule.forFeature([ProbeItem])], providers: [ProbeItems] })
class ProbeModule {}

/** `TypeOrmRepository`, the base every module repository extends, on the real database (no HTTP). */
describe('TypeOrmRepository (integration)', () => {
  let env: IsolatedEnv;
  let context: INestApplicationContext;
  let items: ProbeItems;
  const id = (n: number) => `01900000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    context = await startDatabaseContext(env, [ProbeModule]);
    await context
      .get(DataSource)
      .query('CREATE TABLE probe_items (id VARCHAR(36) PRIMARY KEY, kind VARCHAR(20) NOT NULL, name VARCHAR(40) NOT NULL)');
    items = context.get(ProbeItems);
    for (let n = 1; n <= 25; n++) await items.create({ id: id(n), kind: n % 2 ? 'odd' : 'even', name: `item ${n}% _!` });
  });

  afterAll(async () => {
    await context?.close();
    await env?.destroy();
  });

  it('creates, finds, updates and deletes by id', async () => {
    expect(await items.findById(id(3))).toEqual({ id: id(3), kind: 'odd', name: 'item 3% _!' });
    expect(await items.update(id(3), { name: 'renamed' })).toMatchObject({ name: 'renamed' });
    expect(await items.update(id(99), { name: 'x' })).toBeNull();
    expect(await items.delete(id(3))).toBe(true);
    expect(await items.delete(id(3))).toBe(false);
    expect(await items.findById(id(3))).toBeNull();
    await items.create({ id: id(3), kind: 'odd', name: 'item 3% _!' });
  });

  it('filters (equality, and contains with LIKE wildcards escaped), counts, and pages by offset and keyset', async () => {
    expect(await items.count({ kind: 'odd' })).toBe(13);
    expect((await items.findMany({ where: { name: { contains: '1%' } } })).map((i) => i.id)).toEqual([id(1), id(11), id(21)]);
    expect(await items.findMany({ where: { name: { contains: '_x' } } })).toEqual([]);

    const page = await items.findPage({ where: { kind: 'even' }, page: 2, pageSize: 5 });
    expect(page.items.map((i) => i.id)).toEqual([12, 14, 16, 18, 20].map(id));
    expect(page.total).toBe(12);

    const walked: string[] = [];
    let after: { value: unknown; id: string } | undefined;
    for (;;) {
      const slice: ProbeItem[] = await items.findMany({ orderDir: 'desc', limit: 7, after });
      walked.push(...slice.map((i) => i.id));
      if (slice.length < 7) break;
      after = { value: null, id: slice.at(-1)!.id };
    }
    expect(walked).toEqual(Array.from({ length: 25 }, (_, i) => id(25 - i)));
  });
});
