import { Injectable } from '@nestjs/common';
import { hkdfSync } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';

/** Fixed HKDF salt: names this application, so the same APP_SECRET used elsewhere yields other keys. */
const SALT = 'nest-modular-monolith/key-ring/v1';
const PURPOSE = /^[a-z][a-z0-9-]*(?::[a-z0-9-]+)+$/;

/**
 * One key per purpose, derived from `APP_SECRET` with HKDF-SHA256 (RFC 5869), the purpose label
 * as HKDF `info`. Each key serves one purpose (`cursor:users`, `cursor:ledger`, …): a value
 * signed for one is refused by another, and rotating a JWT secret leaves these keys alone.
 */
@Injectable()
export class KeyRing {
  private readonly master: Buffer;
  private readonly keys = new Map<string, Buffer>();

  constructor(@InjectConfig() config: AppConfig) {
    this.master = Buffer.from(config.appSecret, 'utf8');
  }

  /** The 256-bit key of `purpose` ("area:name", lower case); the same label always gives the same key. */
  key(purpose: string): Buffer {
    if (!PURPOSE.test(purpose)) throw new Error(`Key purpose "${purpose}" must look like "area:name"`);
    let key = this.keys.get(purpose);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', this.master, SALT, purpose, 32));
      this.keys.set(purpose, key);
    }
    return key;
  }
}
