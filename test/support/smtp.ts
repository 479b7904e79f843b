import type { AddressInfo } from 'node:net';
import { type AddressObject, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A received (or written) mail, parsed. */
export interface ParsedMessage {
  /** The first address of the To header (our mails have exactly one). */
  to: string;
  /** The envelope's RCPT TO addresses (empty for a parsed file). */
  recipients: string[];
  /** The address of the From header. */
  from: string;
  /** The display name of the From header ('' without one). */
  fromName: string;
  subject: string;
  text: string;
  /** The HTML part; '' when there is none. */
  html: string;
  messageId: string;
  date: Date | null;
  /** The whole message as it arrived. */
  raw: string;
}

export interface TestSmtpServer {
  /** `smtp://127.0.0.1:<port>`: what SMTP_URL is set to. */
  url: string;
  port: number;
  /** Every message received, in order of arrival. */
  messages: ParsedMessage[];
  /** The first message (received already or later) matching `predicate`; rejects after `timeoutMs`. */
  waitFor(predicate: (message: ParsedMessage) => boolean, timeoutMs?: number): Promise<ParsedMessage>;
  /** Stops listening; the same port can be listened on again with `startSmtpServer({ port })`. */
  stop(): Promise<void>;
}

const firstAddress = (header: AddressObject | AddressObject[] | undefined): string =>
  (Array.isArray(header) ? header[0] : header)?.value[0]?.address ?? '';

/** Parses an RFC 5322 message (a received mail, an `.eml` file). */
export async function parseMessage(raw: string | Buffer, recipients: string[] = []): Promise<ParsedMessage> {
  const parsed = await simpleParser(raw);
  return {
    to: firstAddress(parsed.to),
    recipients,
    from: parsed.from?.value[0]?.address ?? '',
    fromName: parsed.from?.value[0]?.name ?? '',
    subject: parsed.subject ?? '',
    text: parsed.text ?? '',
    html: parsed.html || '',
    messageId: parsed.messageId ?? '',
    date: parsed.date ?? null,
    raw: raw.toString(),
  };
}

/**
 * An in-process SMTP server for tests: plain text (no STARTTLS, so nodemailer needs no TLS
 * option), any or no credentials accepted (an `smtp://user:pass@...` URL works too), every
 * message parsed into `messages`.
 */
export async function startSmtpServer(options: { port?: number; refuse?: (address: string) => boolean } = {}): Promise<TestSmtpServer> {
  const messages: ParsedMessage[] = [];
  const waiters = new Set<{ predicate: (message: ParsedMessage) => boolean; resolve: (message: ParsedMessage) => void }>();
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    // a stop does not wait half a minute for a client that keeps its connection
    closeTimeout: 200,
    onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'anonymous' }),
    // `refuse`: a mailbox that does not exist, answered 550 as a real server would
    onRcptTo: (address, _session, callback) => {
      if (!options.refuse?.(address.address)) return callback();
      callback(Object.assign(new Error('5.1.1 No such mailbox'), { responseCode: 550 }));
    },
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => {
        parseMessage(
          Buffer.concat(chunks),
          session.envelope.rcptTo.map((rcpt) => rcpt.address),
        ).then((message) => {
          messages.push(message);
          for (const waiter of waiters) {
            if (waiter.predicate(message)) {
              waiters.delete(waiter);
              waiter.resolve(message);
            }
          }
          callback();
        }, callback);
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    waitFor(predicate, timeoutMs = 10_000) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise<ParsedMessage>((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (message: ParsedMessage) => {
            clearTimeout(timer);
            resolve(message);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching mail within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
