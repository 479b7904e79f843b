/**
 * The domain events auth publishes to the outbox; the subject is the user (null for a failed
 * login with an unknown email). `data` never holds a password, a token or a hash.
 */
export const AuthEvents = {
  loginSucceeded: 'auth.login_succeeded',
  loginFailed: 'auth.login_failed',
  refreshReuseDetected: 'auth.refresh_reuse_detected',
  logout: 'auth.logout',
  logoutAll: 'auth.logout_all',
  passwordChanged: 'auth.password_changed',
  passwordResetRequested: 'auth.password_reset_requested',
  passwordReset: 'auth.password_reset',
  emailVerified: 'auth.email_verified',
  sessionEnded: 'auth.session_ended',
} as const;

export const AUTH_EVENT_TYPES: readonly string[] = Object.values(AuthEvents);

export interface LoginFailedData {
  /** The canonical email tried. */
  email: string;
}

export interface SessionEndedData {
  sessionId: string;
}
