import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createTransport } from 'nodemailer';
import type { MailMessage } from './mail.types';
import { MailTransport, NODEMAILER_DEFAULTS, toNodemailerMessage } from './mail-transport';

/** `<UTC time>-<job id>.eml`: sorts by time, names the job, and a re-send (at least once) never overwrites. */
export function emlFileName(at: Date, mailId: string): string {
  return `${at.toISOString().replace(/[-:.]/g, '')}-${mailId}.eml`;
}

/**
 * Without `SMTP_URL`: each message as an RFC 5322 `.eml` file under `MAIL_DIR` (zero set-up; a
 * mail client opens it), built by nodemailer itself, so it is byte for byte what SMTP would carry.
 * Written to a hidden temp file and renamed: a reader never sees half a message.
 */
export class FileTransport implements MailTransport {
  readonly name = 'file';
  private readonly transporter = createTransport({ streamTransport: true, buffer: true, ...NODEMAILER_DEFAULTS });
  private readonly dir: string;

  constructor(
    dir: string,
    private readonly from: string,
  ) {
    this.dir = resolve(dir);
  }

  async send(message: MailMessage, mailId: string): Promise<string> {
    const info = await this.transporter.sendMail(toNodemailerMessage(this.from, message));
    const name = emlFileName(new Date(), mailId);
    const path = join(this.dir, name);
    const temp = join(this.dir, `.${name}.tmp`);
    // the mails hold live links: readable by this user only
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    try {
      await writeFile(temp, info.message, { mode: 0o600 });
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return path;
  }

  close(): void {
    this.transporter.close();
  }
}
