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

  /** Ends one of the caller's live sessions (the current one included); 404 for anything else, another user's session included. */
  async end(user: AuthUser, sessionId: string): Promise<void> {
    const session = await this.sessions.findById(sessionId);
    if (!session || session.userId !== user.id || !this.isLive(session)) throw new NotFoundError('Session', sessionId);
    await this.auth.endSessions(user.id, [session.id]);
  }

  /** Ends every live session of the caller but the one asking. */
  async endOthers(user: AuthUser): Promise<void> {
    const others = (await this.sessions.findLive(user.id, this.liveness()))
      .map((session) => session.id)
      .filter((id) => id !== user.sessionId);
    if (others.length > 0) await this.auth.endSessions(user.id, others);
  }

  private liveness(): Liveness {
    const now = new Date();
    return { now, usedSince: new Date(now.getTime() - this.config.jwt.refreshTtl * 1000) };
  }

  private isLive(session: Session): boolean {
    const { now, usedSince } = this.liveness();
    return session.endedAt === null && session.expiresAt > now && session.lastUsedAt > usedSince;
  }
}
