import { createTransport, type SMTPSentMessageInfo, type SMTPTransportOptions, type Transporter } from 'nodemailer';
import type { MailMessage } from './mail.types';
import { MailTransport, NODEMAILER_DEFAULTS, PermanentMailError, toNodemailerMessage } from './mail-transport';

/** Connecting, the greeting and each silence: a server that hangs fails the attempt instead of holding the relay. */
const SMTP_TIMEOUT_MS = 10_000;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

/** Sends through the server in `SMTP_URL` (`smtp://` with STARTTLS, required unless the server is on this machine; `smtps://` for TLS), one connection per mail. */
export class SmtpTransport implements MailTransport {
  readonly name = 'smtp';
  private readonly transporter: Transporter<SMTPSentMessageInfo, SMTPTransportOptions>;
  /** The URL's user and password: never in an error we hand on. */
  private readonly secrets: string[];

  constructor(
    url: string,
    private readonly from: string,
  ) {
    const parsed = new URL(url);
    this.secrets = [parsed.username, parsed.password, decodeURIComponent(parsed.username), decodeURIComponent(parsed.password)].filter(
      (secret) => secret.length > 0,
    );
    const options: SMTPTransportOptions = {
      url,
      // smtp:// upgrades with STARTTLS, and refuses to go on without it (a server that offers none, or
      // someone stripping the offer, would otherwise get the password and the links in clear);
      // only a server on this machine is spoken to in plain text
      requireTLS: parsed.protocol === 'smtp:' && !isLoopback(parsed.hostname),
      connectionTimeout: SMTP_TIMEOUT_MS,
      greetingTimeout: SMTP_TIMEOUT_MS,
      socketTimeout: SMTP_TIMEOUT_MS,
      ...NODEMAILER_DEFAULTS,
    };
    this.transporter = createTransport(options);
  }

  async send(message: MailMessage, _mailId: string, signal: AbortSignal): Promise<string> {
    const mail = toNodemailerMessage(this.from, message);
    try {
      const info = await this.transporter.sendMail({ ...mail, signal });
      return `${info.messageId} ${info.response}`;
    } catch (error) {
      const { code, responseCode } = error as { code?: unknown; responseCode?: unknown };
      const refused = (code === 'EENVELOPE' || code === 'EMESSAGE') && typeof responseCode === 'number' && responseCode >= 500;
      throw refused ? new PermanentMailError(this.describe(error), { cause: error }) : new Error(this.describe(error), { cause: error });
    }
  }

  close(): void {
    this.transporter.close();
  }

  /** nodemailer's code and message (the server's answer, or the socket error), without the URL's credentials. */
  private describe(error: unknown): string {
    const { code, message } = error as { code?: unknown; message?: unknown };
    let text = `SMTP ${typeof code === 'string' ? code : 'error'}: ${typeof message === 'string' ? message : String(error)}`;
    for (const secret of this.secrets) text = text.split(secret).join('***');
    return text;
  }
}
