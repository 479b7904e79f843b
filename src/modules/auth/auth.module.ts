import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Authenticator } from '../../core/auth/authenticator';
import { ThrottlingModule } from '../../core/throttling/throttling.module';
import { UsersModule } from '../users';
import { AccessAuthenticator } from './access-authenticator';
import { AccountLifecycleController } from './account-lifecycle.controller';
import { AccountLifecycleService } from './account-lifecycle.service';
import { AuthMaintenance } from './auth-maintenance.service';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { JwtStrategy } from './jwt.strategy';
import { RefreshToken } from './refresh-token.entity';
import { OneTimeToken } from './one-time-token.entity';
import { OneTimeTokensRepository } from './one-time-tokens.repository';
import { RefreshTokensRepository } from './refresh-tokens.repository';
import { Session } from './session.entity';
import { SessionsController } from './sessions.controller';
import { SessionsRepository } from './sessions.repository';
import { SessionsService } from './sessions.service';
import { TokenService } from './token.service';

@Module({
  imports: [
    UsersModule,
    PassportModule,
    JwtModule.register({}),
    TypeOrmModule.forFeature([RefreshToken, Session, OneTimeToken]),
    ThrottlingModule,
  ],
  controllers: [AuthController, SessionsController, AccountLifecycleController],
  providers: [
    AuthService,
    TokenService,
    AccessAuthenticator,
    { provide: Authenticator, useExisting: AccessAuthenticator },
    RefreshTokensRepository,
    SessionsRepository,
    OneTimeTokensRepository,
    SessionsService,
    AccountLifecycleService,
    JwtStrategy,
    AuthMaintenance,
  ],
  exports: [Authenticator],
})
export class AuthModule {}
