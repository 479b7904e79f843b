import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayUnique, IsArray, IsEmail, IsIn, IsString, Length, Matches, MaxLength, ValidateBy } from 'class-validator';
import { Absent, CodePoints } from '../../../core/http/validation-decorators';
import { ROLES } from '../../../core/auth/auth-user';
import { canonicalEmail } from '../../../core/auth/canonical-email';
import { isCommonPassword } from '../../../core/auth/common-passwords';

export const canonicalEmailTransform = Transform(({ value }: { value: unknown }) =>
  typeof value === 'string' ? canonicalEmail(value) : value,
);
const trim = Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));

/** Email: canonical (trimmed, lower-cased, NFC; accents kept), at most 254 characters. */
export const EmailField = (optional = false) =>
  applyDecorators(
    optional
      ? ApiPropertyOptional({ example: 'ada@example.com', maxLength: 254 })
      : ApiProperty({ example: 'ada@example.com', maxLength: 254 }),
    ...(optional ? [Absent()] : []),
    canonicalEmailTransform,
    IsString(),
    MaxLength(254),
    IsEmail({}, { message: 'email must be an email' }),
    // a quoted local part ("a b"@…) is valid RFC 5321 but one spelling too many for an account
    // name, and control characters cannot go into a mail header: both refused here, as a 400
    Matches(/^[^"\s\p{Cc}]+$/u, { message: 'email must not contain quotes, spaces or control characters' }),
  );

/** Refuses the most common passwords in any letter case (OWASP ASVS 6.2.4). */
const NotCommonPassword = (name: string) =>
  ValidateBy({
    name: 'notCommonPassword',
    validator: {
      validate: (value: unknown) => typeof value !== 'string' || !isCommonPassword(value),
      defaultMessage: () => `${name} is one of the most common passwords; choose another`,
    },
  });

/** A password being set: 8 to 128 characters, not a common one, taken as given (never trimmed). */
export const PasswordField = (name = 'password') =>
  applyDecorators(
    ApiProperty({
      minLength: 8,
      maxLength: 128,
      example: 'correct horse battery staple',
      format: 'password',
      description: 'The most common passwords (a list of about 50 000) are refused, in any letter case',
    }),
    IsString(),
    Length(8, 128, { message: `${name} must be 8 to 128 characters` }),
    NotCommonPassword(name),
  );

/** Name: trimmed, 1 to 100 characters. */
export const NameField = (optional = false) =>
  applyDecorators(
    optional
      ? ApiPropertyOptional({ example: 'Ada Lovelace', minLength: 1, maxLength: 100 })
      : ApiProperty({ example: 'Ada Lovelace', minLength: 1, maxLength: 100 }),
    ...(optional ? [Absent()] : []),
    trim,
    IsString(),
    CodePoints(1, 100, 'name must be 1 to 100 characters'),
  );

export const RolesField = () =>
  applyDecorators(
    ApiPropertyOptional({ enum: ROLES, isArray: true, example: ['user', 'admin'], description: 'Admins only; `user` is always kept' }),
    Absent(),
    IsArray(),
    ArrayUnique(),
    IsIn(ROLES, { each: true, message: `each role must be one of ${ROLES.join(', ')}` }),
  );
