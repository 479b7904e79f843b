export { AuthModule } from './auth.module';
export { AuthEvents, AUTH_EVENT_TYPES } from './auth.events';
export type { LoginFailedData } from './auth.events';
