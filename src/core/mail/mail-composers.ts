import { Injectable } from '@nestjs/common';
import type { MailComposer } from './mail.types';

/**
 * Which composer turns a job of each kind into a message. Core knows no mail kind: a module
 * registers the composer of each kind it owns (from a provider's constructor or `onModuleInit`,
 * before the relay starts at application bootstrap).
 */
@Injectable()
export class MailComposers {
  private readonly composers = new Map<string, MailComposer>();

  register(kind: string, composer: MailComposer): void {
    if (this.composers.has(kind)) throw new Error(`a mail composer for "${kind}" is registered already`);
    this.composers.set(kind, composer);
  }

  /** undefined: no module registered this kind (yet: a deploy may add it). */
  get(kind: string): MailComposer | undefined {
    return this.composers.get(kind);
  }
}
