export { AuditModule } from './audit.module';
export { AuditEventResponse } from './dto/audit-event.response';
