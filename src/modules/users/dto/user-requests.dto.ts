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
}
