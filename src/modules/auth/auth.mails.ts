import type { MailMessage } from '../../core/mail/mail.types';

/** Mails the auth module queues itself (`UserMails.emailVerification` is queued by users, composed here too). */
export const AuthMails = {
  /** `POST /auth/password/forgot`: queued for any address; composed into a mail only for an account's. */
  passwordReset: 'password-reset',
} as const;

/** A link's lifetime in words, in the largest whole unit: "30 minutes", "1 day". */
export function lifetime(seconds: number): string {
  const unit = (n: number, name: string) => `${n} ${name}${n === 1 ? '' : 's'}`;
  if (seconds % 86_400 === 0) return unit(seconds / 86_400, 'day');
  if (seconds % 3_600 === 0) return unit(seconds / 3_600, 'hour');
  return unit(Math.ceil(seconds / 60), 'minute');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A plain-text body and a minimal HTML part saying the same, the link in both. Never a password. */
function message(to: string, subject: string, paragraphs: { before: string[]; link: string; after: string[] }): MailMessage {
  const text = [...paragraphs.before, paragraphs.link, ...paragraphs.after].join('\n\n') + '\n';
  const html =
    '<!doctype html><html><body>' +
    paragraphs.before.map((p) => `<p>${escapeHtml(p)}</p>`).join('') +
    `<p><a href="${escapeHtml(paragraphs.link)}">${escapeHtml(paragraphs.link)}</a></p>` +
    paragraphs.after.map((p) => `<p>${escapeHtml(p)}</p>`).join('') +
    '</body></html>';
  return { to, subject, text, html };
}

export function passwordResetMail(to: string, link: string, ttlSeconds: number): MailMessage {
  return message(to, 'Reset your password', {
    before: [
      `Someone asked to reset the password of the account for ${to}.`,
      `To choose a new password, open this link within ${lifetime(ttlSeconds)}:`,
    ],
    link,
    after: [
      'The link works once, and only the newest one you were sent works. Resetting the password signs every device out.',
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ],
  });
}

export function emailVerificationMail(to: string, link: string, ttlSeconds: number): MailMessage {
  return message(to, 'Verify your email address', {
    before: [`To confirm that ${to} is your address, open this link within ${lifetime(ttlSeconds)}:`],
    link,
    after: [
      'The link works once, and only the newest one you were sent works.',
      'If you did not create an account or change your email, ignore this mail.',
    ],
  });
}
