import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from '../../core/database/bigint-column';

@Entity('accounts')
export class Account {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ name: 'owner_id', type: 'varchar', length: 36 })
  ownerId: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 3 })
  currency: string;

  /** Minor units (cents). */
  @Column({ type: 'bigint', transformer: bigintColumn })
  balance: number;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt: Date;
}
