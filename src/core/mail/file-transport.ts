import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createTransport } from 'nodemailer';
import type { MailMessage } from './mail.types';
import { MailTransport, NODEMAILER_DEFAULTS, toNodemailerMessage } from './mail-transport';

/** `<UTC time>-<job id>.eml`: sorts by time, names the job, and a re-send (at least once) never overwrites. */
export function emlFileName(at: Date, mailId: string): string {
  return `${at.toISOString().replace(/[-:.]/g, '')}-${mailId}.eml`;
}

/** A name `emlFileName` made (or its hidden temp file): its time, from the name; anything else is not ours. */
const OUR_FILE = /^\.?(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-[\w-]+\.eml(\.tmp)?$/;

export function emlFileTime(name: string): number | null {
  const match = OUR_FILE.exec(name);
  if (!match) return null;
  const [, year, month, day, hour, minute, second, ms] = match;
  const at = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}.${ms}Z`);
  return Number.isNaN(at) ? null : at;
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

  /**
   * Deletes the mails written before `cutoff` (by the time in their names; files this transport
   * did not name are left alone): the links in them have long expired, and a directory that only
   * grows would fill the disk. Run by the relay's sweep.
   */
  async purge(cutoff: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0; // nothing written yet
      throw error;
    }
    const old = names.filter((name) => {
      const at = emlFileTime(name);
      return at !== null && at < cutoff;
    });
    for (const name of old) await rm(join(this.dir, name), { force: true });
    return old.length;
  }

  close(): void {
    this.transporter.close();
  }
}
