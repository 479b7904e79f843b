import { ForbiddenError } from '../errors/app-error';
import { Actor, isAdmin } from './auth-user';

/**
 * The one "owner or admin" policy: a resource owned by `ownerId` (a user id; the user's own id
 * for the user resource) may be acted on by its owner or by an admin. Anyone else: 403
 * `FORBIDDEN` with the given message (a 403, not a 404: the contract answers 403 for another
 * user's resource).
 */
export function isOwnerOrAdmin(actor: Actor, ownerId: string): boolean {
  return actor.id === ownerId || isAdmin(actor);
}

export function assertOwnerOrAdmin(actor: Actor, ownerId: string, message: string): void {
  if (!isOwnerOrAdmin(actor, ownerId)) throw new ForbiddenError(message);
}
