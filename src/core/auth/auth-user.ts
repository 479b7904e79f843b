export type Role = 'user' | 'admin';

export const ROLES: readonly Role[] = ['user', 'admin'];

/** Who is calling: set on the request by the authentication guard. */
export interface AuthUser {
  id: string;
  roles: Role[];
  /** The session the access token was issued to (null: a caller that is not a session, such as a test double). */
  sessionId: string | null;
  /** The user's current email has been verified. */
  emailVerified: boolean;
}

/** Who acts, as far as an ownership or role rule needs to know. */
export type Actor = Pick<AuthUser, 'id' | 'roles'>;

export function isAdmin(user: Actor): boolean {
  return user.roles.includes('admin');
}
