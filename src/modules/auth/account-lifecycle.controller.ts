import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthUser } from '../../core/auth/auth-user';
import { Auth, CurrentUser, Public } from '../../core/auth/auth.decorators';
import { ApiEnvelope } from '../../core/swagger/api-envelope.decorator';
import { AuthRateLimit } from '../../core/throttling/auth-rate-limit.decorator';
import { AccountLifecycleService } from './account-lifecycle.service';
import { ForgotPasswordDto, ResetPasswordDto, VerifyEmailDto } from './dto/auth-requests.dto';
import { AcceptedResponse } from './dto/session.response';

const RESET_LINK_SENT: AcceptedResponse = { message: 'If an account has this email, a password reset link is on its way' };
const VERIFICATION_SENT: AcceptedResponse = { message: 'A verification link is on its way, unless the email is verified already' };

@ApiTags('auth')
@Controller('auth')
export class AccountLifecycleController {
  constructor(private readonly lifecycle: AccountLifecycleService) {}

  @Post('password/forgot')
  @Public()
  @HttpCode(202)
  @AuthRateLimit()
  @ApiOperation({
    summary: 'Mail a password reset link',
    description:
      'The same 202, in the same time, whether or not an account has the email; the link is mailed only when one does (valid PASSWORD_RESET_TTL seconds, once; ' +
      'a newer link voids it). `AUTH_RATE_LIMIT` per IP and per email (canonical form) per window: then 429, whatever the account.',
  })
  @ApiEnvelope(AcceptedResponse, { status: 202, errors: [400, 413, 415] })
  async forgot(@Body() body: ForgotPasswordDto): Promise<AcceptedResponse> {
    await this.lifecycle.forgotPassword(body.email);
    return RESET_LINK_SENT;
  }

  @Post('password/reset')
  @Public()
  @HttpCode(204)
  @AuthRateLimit()
  @ApiOperation({
    summary: "Set a new password with a reset link's token; every session ends",
    description:
      'An unknown, used, voided or expired token is 400 `TOKEN_INVALID`. Every refresh and access token of the account fails at once; ' +
      'the email the link was sent to counts as verified. `AUTH_RATE_LIMIT` per IP.',
  })
  @ApiEnvelope(null, { errors: [400, 413, 415] })
  async reset(@Body() body: ResetPasswordDto): Promise<void> {
    await this.lifecycle.resetPassword(body.token, body.newPassword);
  }

  @Post('email/verify')
  @Public()
  @HttpCode(204)
  @AuthRateLimit()
  @ApiOperation({
    summary: "Verify the account's email with a verification link's token",
    description:
      'An unknown, used, voided or expired token, or one mailed to an address the account no longer has, is 400 `TOKEN_INVALID`.',
  })
  @ApiEnvelope(null, { errors: [400, 413, 415] })
  async verify(@Body() body: VerifyEmailDto): Promise<void> {
    await this.lifecycle.verifyEmail(body.token);
  }

  @Post('email/verify/resend')
  @Auth()
  @HttpCode(202)
  @AuthRateLimit()
  @ApiOperation({
    summary: 'Mail a new verification link to your email',
    description:
      'The previous link stops working once the new one goes out. Nothing is sent when the email is verified already. ' +
      '`AUTH_RATE_LIMIT` per IP and per email per window.',
  })
  @ApiEnvelope(AcceptedResponse, { status: 202 })
  async resend(@CurrentUser() user: AuthUser): Promise<AcceptedResponse> {
    await this.lifecycle.resendVerification(user.id);
    return VERIFICATION_SENT;
  }
}
