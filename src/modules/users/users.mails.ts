/**
 * Mails the users module queues (core/mail, `MailQueue.enqueue` in the transaction of the change).
 * The auth module composes them: the link carries a one-time token, and those are auth's.
 */
export const UserMails = {
  /** To a new account's email, and to the new address when a user's email changes. */
  emailVerification: 'email-verification',
} as const;
