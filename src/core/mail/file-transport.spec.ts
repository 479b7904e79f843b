import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMessage } from '../../../test/support/smtp';
import { emlFileName, emlFileTime, FileTransport } from './file-transport';

describe('FileTransport', () => {
  let dir: string;
  const message = {
    to: 'ada@example.com',
    subject: 'Verify your email',
    text: 'Open http://localhost:3000/verify-email?token=abc',
    html: '<p><a href="http://localhost:3000/verify-email?token=abc">Verify</a></p>',
  };

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'mail-file-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names a file by UTC time and job id', () => {
    expect(emlFileName(new Date('2026-03-04T05:06:07.089Z'), '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b')).toBe(
      '20260304T050607089Z-0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.eml',
    );
  });

  it('writes an RFC 5322 message with both parts, a Message-ID and a Date, creating the directory', async () => {
    const mailDir = join(dir, 'data', 'mail');
    const transport = new FileTransport(mailDir, 'App <no-reply@example.com>');
    const path = await transport.send(message, 'job-1');
    expect(path).toMatch(/^\/.+\/data\/mail\/\d{8}T\d{9}Z-job-1\.eml$/);
    expect(readdirSync(mailDir)).toEqual([path.split('/').pop()]); // no temp file left behind
    const raw = readFileSync(path, 'utf8');
    expect(raw).toContain('\r\n'); // as SMTP carries it
    const parsed = await parseMessage(raw);
    expect(parsed).toMatchObject({
      to: 'ada@example.com',
      from: 'no-reply@example.com',
      fromName: 'App',
      subject: 'Verify your email',
      html: message.html,
    });
    expect(parsed.text.trim()).toBe(message.text);
    expect(parsed.messageId).toMatch(/^<.+@example\.com>$/);
    expect(parsed.date).toBeInstanceOf(Date);
  });

  it('reads the time back from a name it made, and from nothing else', () => {
    const at = new Date('2026-03-04T05:06:07.089Z');
    expect(emlFileTime(emlFileName(at, 'job-1'))).toBe(at.getTime());
    expect(emlFileTime(`.${emlFileName(at, 'job-1')}.tmp`)).toBe(at.getTime());
    for (const name of [
      'notes.eml',
      '20261304T050607089Z-x.eml',
      '20260304T050607089Z.eml',
      '20260304T050607089Z-job-1.txt',
      '../20260304T050607089Z-x.eml',
    ]) {
      expect(emlFileTime(name)).toBeNull();
    }
  });

  it('purges the files it wrote before the cutoff, and nothing else; a directory not made yet is nothing to purge', async () => {
    const transport = new FileTransport(join(dir, 'mail'), 'no-reply@example.com');
    await expect(transport.purge(Date.now())).resolves.toBe(0);
    const older = await transport.send(message, 'job-old');
    const cutoff = Date.now() + 1;
    writeFileSync(join(dir, 'mail', emlFileName(new Date(cutoff + 1_000), 'job-new')), 'newer');
    writeFileSync(join(dir, 'mail', 'README'), 'not a mail');
    await expect(transport.purge(cutoff)).resolves.toBe(1);
    expect(readdirSync(join(dir, 'mail')).sort()).toEqual(['README', emlFileName(new Date(cutoff + 1_000), 'job-new')].sort());
    expect(readdirSync(join(dir, 'mail'))).not.toContain(older.split('/').pop());
  });

  it('writes nothing for a message with an injected header', async () => {
    const transport = new FileTransport(dir, 'no-reply@example.com');
    await expect(transport.send({ ...message, subject: 'Hi\r\nBcc: eve@example.com' }, 'job-2')).rejects.toThrow('control character');
    expect(readdirSync(dir)).toEqual([]);
  });
});
