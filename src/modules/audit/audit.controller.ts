import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth } from '../../core/auth/auth.decorators';
import { CursorPage } from '../../core/http/pagination';
import { UuidParamPipe } from '../../core/http/uuid-param.pipe';
import { ApiEnvelope } from '../../core/swagger/api-envelope.decorator';
import { AuditService } from './audit.service';
import { AuditEventResponse, toAuditEventResponse } from './dto/audit-event.response';
import { ListAuditEventsQuery } from './dto/list-audit-events.query';

@ApiTags('audit')
@Auth({ roles: ['admin'] })
@Controller('audit-events')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({
    summary: 'The audit trail, newest first (admin; cursor mode only: limit, after)',
    description: 'Filters: `type`, `actorId`, `subjectId`, `since` (inclusive), `until` (exclusive).',
  })
  @ApiEnvelope(AuditEventResponse, { list: 'cursor', errors: [400] })
  async list(@Query() query: ListAuditEventsQuery): Promise<CursorPage<AuditEventResponse>> {
    return (await this.audit.list(query)).map(toAuditEventResponse);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One audit event (admin)' })
  @ApiEnvelope(AuditEventResponse, { errors: [400, 404] })
  async get(@Param('id', UuidParamPipe) id: string): Promise<AuditEventResponse> {
    return toAuditEventResponse(await this.audit.get(id));
  }
}
