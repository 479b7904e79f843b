import addressparser from 'nodemailer/lib/addressparser';
import type { MailMessage } from './mail.types';

/** How mail leaves the process: SMTP when `SMTP_URL` is set, else `.eml` files under `MAIL_DIR`. */
export interface MailTransport {
  readonly name: 'smtp' | 'file';
  /**
   * Sends one message; resolves with where it went (the SMTP server's answer, or the file's
   * path), rejects with an error whose message holds no secret (never the SMTP URL or password).
   */
  send(message: MailMessage, mailId: string, signal: AbortSignal): Promise<string>;
  /** Removes what the transport kept of mails sent before `cutoff` (ms); the number removed. */
  purge?(cutoff: number): Promise<number>;
  close(): void;
}

export const MAIL_TRANSPORT = Symbol('MAIL_TRANSPORT');

/** Options both transports' nodemailer instances share: a message can only be the text we hand it. */
export const NODEMAILER_DEFAULTS = { disableFileAccess: true, disableUrlAccess: true } as const;

/** A control character (CR and LF above all) would end the header and start another. */
const CONTROL = /\p{Cc}/u;

/**
 * Refuses a header value that could smuggle in headers or recipients. The values come from our
 * own code (a validated email, a fixed subject), so this is a second line, not input validation.
 */
export function assertHeaderSafe(field: 'to' | 'subject', value: string): void {
  if (CONTROL.test(value)) throw new Error(`mail ${field} holds a control character`);
  if (field === 'to') {
    const parsed = addressparser(value);
    if (parsed.length !== 1 || !parsed[0]!.address) throw new Error('mail to must be exactly one address');
  }
}

/** The nodemailer message for `message`: the same on both transports, so a file is what SMTP would have sent. */
export function toNodemailerMessage(from: string, message: MailMessage) {
  assertHeaderSafe('to', message.to);
  assertHeaderSafe('subject', message.subject);
  // nodemailer adds Message-ID, Date and MIME-Version
  return { from, to: message.to, subject: message.subject, text: message.text, html: message.html };
}

/**
 * The server refused this message for good (an SMTP 5xx to its recipient or its content: no such
 * mailbox, rejected as spam). Retrying cannot help: the job is given up at once. A 5xx to the
 * login is not this: that is the deployment's credentials, and the mail waits for them.
 */
export class PermanentMailError extends Error {}
