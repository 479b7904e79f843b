import { Global, Logger, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { FileTransport } from './file-transport';
import { MailComposers } from './mail-composers';
import { MailQueue } from './mail-queue';
import { MailRelay } from './mail-relay';
import { MailStore } from './mail-store';
import { MAIL_TRANSPORT, MailTransport } from './mail-transport';
import { SmtpTransport } from './smtp-transport';

/**
 * Outgoing mail: `MailQueue.enqueue` in a unit of work, a composer per kind registered with
 * `MailComposers`, and the relay that sends (through SMTP when `SMTP_URL` is set, else into
 * `.eml` files under `MAIL_DIR`).
 */
@Global()
@Module({
  providers: [
    MailStore,
    MailComposers,
    MailQueue,
    MailRelay,
    {
      provide: MAIL_TRANSPORT,
      inject: [APP_CONFIG],
      useFactory: ({ mail, nodeEnv }: Pick<AppConfig, 'mail' | 'nodeEnv'>): MailTransport => {
        if (mail.smtpUrl) return new SmtpTransport(mail.smtpUrl, mail.from);
        if (nodeEnv === 'production') {
          // allowed (a deployment may collect the files), but no user receives a reset or verification link
          new Logger('Mail').warn({ msg: 'SMTP_URL is not set: mails are written as .eml files, nobody receives them', dir: mail.dir });
        }
        return new FileTransport(mail.dir, mail.from);
      },
    },
  ],
  exports: [MailQueue, MailComposers, MailRelay],
})
export class MailModule {}
