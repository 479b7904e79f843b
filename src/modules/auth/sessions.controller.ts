import { Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthUser } from '../../core/auth/auth-user';
import { Auth, CurrentUser } from '../../core/auth/auth.decorators';
import { UuidParamPipe } from '../../core/http/uuid-param.pipe';
import { ApiEnvelope } from '../../core/swagger/api-envelope.decorator';
import { SessionResponse, toSessionResponse } from './dto/session.response';
import { MAX_LISTED_SESSIONS, SessionsService } from './sessions.service';

@ApiTags('auth')
@Controller('auth/sessions')
@Auth()
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Get()
  @ApiOperation({
    summary: "The caller's sessions, newest first",
    description:
      `One per login (a refresh-token family) that can still refresh, at most ${MAX_LISTED_SESSIONS}. ` +
      '`current` marks the session of the access token used; `lastUsedAt` moves at each refresh.',
  })
  @ApiEnvelope(SessionResponse, { list: 'plain' })
  async list(@CurrentUser() user: AuthUser): Promise<SessionResponse[]> {
    return (await this.sessions.list(user)).map((session) => toSessionResponse(session, user.sessionId));
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({
    summary: 'End every session but the current one',
    description: 'Their refresh tokens fail, and their access tokens fail at once (401), not only at expiry.',
  })
  @ApiEnvelope(null)
  async endOthers(@CurrentUser() user: AuthUser): Promise<void> {
    await this.sessions.endOthers(user);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'End one of your sessions',
    description:
      'Its refresh token fails and its access tokens fail at once (401); the other sessions go on. ' +
      'A session that is not one of your live sessions (ended, expired, unknown, or another user’s) is 404.',
  })
  @ApiEnvelope(null, { errors: [400, 404] })
  async end(@CurrentUser() user: AuthUser, @Param('id', UuidParamPipe) id: string): Promise<void> {
    await this.sessions.end(user, id);
  }
}
