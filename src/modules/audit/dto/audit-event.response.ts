import { ApiProperty } from '@nestjs/swagger';
import { AuditEvent } from '../audit-event.entity';

export class AuditEventResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'transfer.completed' })
  type: string;

  @ApiProperty({ format: 'date-time' })
  occurredAt: string;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The authenticated caller; null when anonymous or the bootstrap',
  })
  actorId: string | null;

  @ApiProperty({ enum: ['user', 'account', 'transaction'] })
  subjectType: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  subjectId: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'The X-Request-Id of the request that caused it' })
  requestId: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Per type; never a secret' })
  data: Record<string, unknown>;
}

export function toAuditEventResponse(event: AuditEvent): AuditEventResponse {
  return {
    id: event.id,
    type: event.type,
    occurredAt: event.occurredAt.toISOString(),
    actorId: event.actorId,
    subjectType: event.subjectType,
    subjectId: event.subjectId,
    requestId: event.requestId,
    data: event.data,
  };
}
