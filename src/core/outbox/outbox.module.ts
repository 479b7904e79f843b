import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Outbox } from './outbox';
import { OutboxRelay } from './outbox-relay';
import { OutboxStore } from './outbox-store';

/** The transactional outbox: `Outbox` for stand-alone events, the relay that delivers them. */
@Global()
@Module({ imports: [DiscoveryModule], providers: [Outbox, OutboxRelay, OutboxStore], exports: [Outbox, OutboxRelay] })
export class OutboxModule {}
