import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length, MaxLength } from 'class-validator';
import { EmailField, NameField, PasswordField } from '../../users';

export class RegisterDto {
  @EmailField()
  email: string;

  @PasswordField()
  password: string;

  @NameField()
  name: string;
}

export class LoginDto {
  @EmailField()
  email: string;

  @ApiProperty({ format: 'password', example: 'correct horse battery staple' })
  @IsString()
  @Length(1, 128)
  password: string;
}

export class RefreshTokenDto {
  @ApiProperty({ description: 'The refresh token from the last TokenPair' })
  @IsString()
  @MaxLength(2048)
  refreshToken: string;
}

export class ChangePasswordDto {
  @ApiProperty({ format: 'password' })
  @IsString()
  @Length(1, 128)
  currentPassword: string;

  @PasswordField('newPassword')
  newPassword: string;
}
