import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { AuthUser } from '../../core/auth/auth-user';
import { NotFoundError } from '../../core/errors/app-error';
import { AuthService } from './auth.service';
import { Session } from './session.entity';
import { Liveness, SessionsRepository } from './sessions.repository';

/** The most sessions `GET /sessions` lists (newest first); logins are rate limited, so a real user has far fewer. */
export const MAX_LISTED_SESSIONS = 100;

/** A user's sessions: the list, and ending one or all but the current one. */
@Injectable()
export class SessionsService {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly auth: AuthService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  list(user: AuthUser): Promise<Session[]> {
    return this.sessions.findLive(user.id, this.liveness(), MAX_LISTED_SESSIONS);
  }

  /**
   * Ends one of the caller's sessions (the current one included): a live one, or one past its
   * absolute end whose last access token may still be unexpired. 404 for anything else, another
   * user's session included.
   */
  async end(user: AuthUser, sessionId: string): Promise<void> {
    const session = await this.sessions.findById(sessionId);
    if (!session || session.userId !== user.id || !this.isEndable(session)) throw new NotFoundError('Session', sessionId);
    await this.auth.endSessions(user.id, [session.id]);
  }

  /** Ends every session of the caller but the one asking: the live ones, and those whose access tokens may outlive their end. */
  async endOthers(user: AuthUser): Promise<void> {
    const others = (await this.sessions.findUnended(user.id, this.endableSince()))
      .filter((session) => session.id !== user.sessionId && this.isEndable(session))
      .map((session) => session.id);
    if (others.length > 0) await this.auth.endSessions(user.id, others);
  }

  private liveness(): Liveness {
    const now = new Date();
    return { now, usedSince: new Date(now.getTime() - this.config.jwt.refreshTtl * 1000) };
  }

  /** A session may have unexpired access tokens while it was used (a login, a refresh) within `JWT_ACCESS_TTL`. */
  private tokensMayLive(session: Session): boolean {
    return session.lastUsedAt.getTime() > Date.now() - this.config.jwt.accessTtl * 1000;
  }

  /** Live, or past its absolute end with access tokens that may still be unexpired: worth ending. */
  private isEndable(session: Session): boolean {
    const { now, usedSince } = this.liveness();
    if (session.endedAt !== null) return false;
    return (session.expiresAt > now && session.lastUsedAt > usedSince) || this.tokensMayLive(session);
  }

  /** The oldest last use an endable session can have. */
  private endableSince(): Date {
    const ttl = Math.max(this.config.jwt.refreshTtl, this.config.jwt.accessTtl);
    return new Date(Date.now() - ttl * 1000);
  }
}
