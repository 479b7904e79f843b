export { AuthModule } from './auth.module';
export { JwtAuthGuard } from './jwt-auth.guard';
