import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length } from 'class-validator';
import { Role } from '../../../core/auth/auth-user';
import { EmailField, NameField, PasswordField, RolesField } from './user-fields';

export class CreateUserDto {
  @EmailField()
  email: string;

  @PasswordField()
  password: string;

  @NameField()
  name: string;

  @RolesField()
  roles?: Role[];
}

export class UpdateUserDto {
  @NameField(true)
  name?: string;

  @EmailField(true)
  email?: string;

  @RolesField()
  roles?: Role[];

  /**
   * Required when you change your own email: whoever holds a session must not be able to move the
   * account to their address and reset its password from there. An admin changing another user's
   * email gives none.
   */
  @ApiPropertyOptional({
    format: 'password',
    description: "Your current password: required to change your own email (not another user's, as an admin)",
  })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  currentPassword?: string;
}
