import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Authenticator } from '../../core/auth/authenticator';
import { ThrottlingModule } from '../../core/throttling/throttling.module';
import { UsersModule } from '../users';
import { AccessAuthenticator } from './access-authenticator';
import { AuthMaintenance } from './auth-maintenance.service';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { JwtStrategy } from './jwt.strategy';
import { RefreshToken } from './refresh-token.entity';
import { RefreshTokensRepository } from './refresh-tokens.repository';
import { TokenService } from './token.service';

@Module({
  imports: [UsersModule, PassportModule, JwtModule.register({}), TypeOrmModule.forFeature([RefreshToken]), ThrottlingModule],
  controllers: [AuthController],
  providers: [
    AuthService,
    TokenService,
    AccessAuthenticator,
    { provide: Authenticator, useExisting: AccessAuthenticator },
    RefreshTokensRepository,
    JwtStrategy,
    AuthMaintenance,
  ],
  exports: [Authenticator],
})
export class AuthModule {}
