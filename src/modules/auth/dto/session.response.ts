import { ApiProperty } from '@nestjs/swagger';
import type { Session } from '../session.entity';

/** A session (one login, its refresh-token family) as its user sees it. */
export class SessionResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'date-time', description: 'The login' })
  createdAt: string;

  @ApiProperty({ format: 'date-time', description: 'The login, or the last refresh since' })
  lastUsedAt: string;

  @ApiProperty({ type: String, nullable: true, example: 'Mozilla/5.0 (X11; Linux x86_64) …', description: 'The User-Agent of the login' })
  userAgent: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '203.0.113.7',
    description: 'The address of the login as rate limits group it: IPv4 as is, IPv6 as its /64',
  })
  ip: string | null;

  @ApiProperty({ description: 'The session of the access token that asked' })
  current: boolean;
}

export function toSessionResponse(session: Session, currentSessionId: string | null): SessionResponse {
  return {
    id: session.id,
    createdAt: session.createdAt.toISOString(),
    lastUsedAt: session.lastUsedAt.toISOString(),
    userAgent: session.userAgent,
    ip: session.ip,
    current: session.id === currentSessionId,
  };
}

/** A 202: the request is taken; what follows goes by mail. The same answer whatever the account. */
export class AcceptedResponse {
  @ApiProperty({ example: 'If an account has this email, a link is on its way' })
  message: string;
}
