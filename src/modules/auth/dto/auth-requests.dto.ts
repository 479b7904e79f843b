import { applyDecorators } from '@nestjs/common';
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

export class ForgotPasswordDto {
  @EmailField()
  email: string;
}

/** The token from a mailed link (`?token=`): 43 base64url characters as we make them; anything up to 128 is looked up. */
const OneTimeTokenField = () =>
  applyDecorators(
    ApiProperty({ description: 'The `token` parameter of the link in the mail', example: 'Xq3v0n1m2Rk4yJ8sWzA7bC9dE5fG6hI1jK2lM3nO4pQ' }),
    IsString(),
    Length(1, 128),
  );

export class ResetPasswordDto {
  @OneTimeTokenField()
  token: string;

  @PasswordField('newPassword')
  newPassword: string;
}

export class VerifyEmailDto {
  @OneTimeTokenField()
  token: string;
}
