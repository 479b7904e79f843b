import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Outbox } from './outbox';
import { OutboxRelay } from './outbox-relay';

/** The transactional outbox: `Outbox` for stand-alone events, the relay that delivers them. */
@Global()
@Module({ imports: [DiscoveryModule], providers: [Outbox, OutboxRelay], exports: [Outbox, OutboxRelay] })
export class OutboxModule {}
