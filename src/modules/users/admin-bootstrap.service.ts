import { Injectable, Logger } from '@nestjs/common';
import { Actor } from '../../core/auth/auth-user';
import { canonicalEmail } from '../../core/auth/canonical-email';
import { PasswordHasher } from './password-hasher';
import { EmailTakenError } from './users.errors';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

/** What the admin bootstrap found: see `AdminBootstrapService.ensureAdmin`. */
export type AdminBootstrap = 'created' | 'present' | 'promoted' | 'refused';

/** Who promotes an existing account at start (no request, no caller). */
const BOOTSTRAP_ACTOR: Actor = { id: 'admin-bootstrap', roles: ['admin'] };

/** The admin named by ADMIN_EMAIL / ADMIN_PASSWORD, made sure of at start. */
@Injectable()
export class AdminBootstrapService {
  private readonly security = new Logger('Security');

  constructor(
    private readonly usersService: UsersService,
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
  ) {}

  /**
   * Makes sure this admin exists; safe when instances race. Registration is open and unverified,
   * so an account that already holds the address is made admin only if ADMIN_PASSWORD is its
   * password: otherwise whoever registered the address first would be. Such an account is left
   * alone and the refusal logged, rather than the start refused, which would let anyone who
   * registers the address keep the service down.
   */
  async ensureAdmin(adminEmail: string, password: string): Promise<AdminBootstrap> {
    const email = canonicalEmail(adminEmail);
    if (!(await this.users.findByEmail(email))) {
      try {
        await this.usersService.create({ email, password, name: 'Administrator', roles: ['user', 'admin'] });
        return 'created';
      } catch (error) {
        if (!(error instanceof EmailTakenError)) throw error;
      }
    }
    const user = await this.users.findByEmail(email);
    if (!user) throw new Error('the account holding ADMIN_EMAIL vanished during the admin bootstrap');
    if (user.roles.includes('admin')) return 'present';
    if (!(await this.hasher.verify(user.passwordHash, password))) {
      this.security.error({
        event: 'admin.bootstrap_refused',
        userId: user.id,
        msg: 'ADMIN_EMAIL belongs to an account whose password is not ADMIN_PASSWORD: not made admin. Remove that account or set another ADMIN_EMAIL',
      });
      return 'refused';
    }
    // a role change: the account's existing access tokens end, user.updated is emitted
    await this.usersService.update(BOOTSTRAP_ACTOR, user.id, { roles: [...user.roles, 'admin'] });
    this.security.log({ event: 'admin.promoted', userId: user.id, msg: 'the account holding ADMIN_EMAIL was made admin' });
    return 'promoted';
  }
}
