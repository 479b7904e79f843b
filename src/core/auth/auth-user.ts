export type Role = 'user' | 'admin';

export const ROLES: readonly Role[] = ['user', 'admin'];

/** Who is calling: set on the request by the authentication guard. */
export interface AuthUser {
  id: string;
  roles: Role[];
}

export function isAdmin(user: AuthUser): boolean {
  return user.roles.includes('admin');
}
