import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ThrottlingModule } from '../../core/throttling/throttling.module';
import { AdminBootstrapService } from './admin-bootstrap.service';
import { PasswordHasher } from './password-hasher';
import { UserCredentialsService } from './user-credentials.service';
import { User } from './user.entity';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  imports: [TypeOrmModule.forFeature([User]), ThrottlingModule],
  controllers: [UsersController],
  providers: [UsersService, UserCredentialsService, UsersRepository, PasswordHasher, AdminBootstrapService],
  exports: [UsersService, UserCredentialsService, AdminBootstrapService, PasswordHasher],
})
export class UsersModule {}
