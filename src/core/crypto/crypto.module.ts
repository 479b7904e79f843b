import { Global, Module } from '@nestjs/common';
import { KeyRing } from './key-ring';

/** Per-purpose keys for every module (global, like the configuration they derive from). */
@Global()
@Module({ providers: [KeyRing], exports: [KeyRing] })
export class CryptoModule {}
