import { Body, Controller, Get, HttpCode, Patch, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AuthUser } from '../../core/auth/auth-user';
import { Auth, CurrentUser, Public } from '../../core/auth/auth.decorators';
import { ApiEnvelope } from '../../core/swagger/api-envelope.decorator';
import { AuthRateLimit } from '../../core/throttling/auth-rate-limit.decorator';
import { ipGroup } from '../../core/throttling/client-ip';
import { toUserResponse, UserResponse, UsersService } from '../users';
import { AuthService } from './auth.service';
import { ChangePasswordDto, LoginDto, RefreshTokenDto, RegisterDto } from './dto/auth-requests.dto';
import { TokenPairResponse } from './dto/token-pair.response';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
  ) {}

  @Post('register')
  @Public()
  @AuthRateLimit()
  @ApiOperation({ summary: 'Create an account (role `user`)', description: 'Unknown fields, `roles` included, are 400.' })
  @ApiEnvelope(UserResponse, { status: 201, errors: [400, 409, 413, 415] })
  async register(@Body() body: RegisterDto): Promise<UserResponse> {
    return toUserResponse(await this.auth.register(body));
  }

  @Post('login')
  @Public()
  @HttpCode(200)
  @AuthRateLimit()
  @ApiOperation({
    summary: 'Exchange credentials for a token pair; starts a session (a refresh-token family)',
    description:
      '`AUTH_RATE_LIMIT` per IP, and `AUTH_RATE_LIMIT` failed logins (and wrong current passwords of a password change) per email (canonical form) per window: then 429, right password or not. ' +
      'A login whose password was checked while a password change, logout-all, role change or deletion of the account committed is the same 401 as a wrong password.',
  })
  @ApiEnvelope(TokenPairResponse, { errors: [400, 401, 413, 415] })
  login(@Body() body: LoginDto, @Req() request: FastifyRequest): Promise<TokenPairResponse> {
    const userAgent = request.headers['user-agent'] ?? null;
    return this.auth.login(body.email, body.password, { userAgent, ip: ipGroup(request.ip) });
  }

  @Post('refresh')
  @Public()
  @HttpCode(200)
  @AuthRateLimit()
  @ApiOperation({
    summary: 'Rotate a refresh token',
    description: 'Each refresh token works once. Presenting a used one again revokes its whole family (401).',
  })
  @ApiEnvelope(TokenPairResponse, { errors: [400, 401, 413, 415] })
  refresh(@Body() body: RefreshTokenDto): Promise<TokenPairResponse> {
    return this.auth.refresh(body.refreshToken);
  }

  @Post('logout')
  @HttpCode(204)
  @Auth()
  @ApiOperation({
    summary: "End this refresh token's session",
    description: 'Its refresh family is revoked and its access tokens fail at once (401); the other sessions go on.',
  })
  @ApiEnvelope(null, { errors: [400] })
  async logout(@CurrentUser() user: AuthUser, @Body() body: RefreshTokenDto): Promise<void> {
    await this.auth.logout(user.id, body.refreshToken);
  }

  @Post('logout-all')
  @HttpCode(204)
  @Auth()
  @ApiOperation({ summary: 'End every session: all refresh tokens and all access tokens fail at once' })
  @ApiEnvelope(null)
  async logoutAll(@CurrentUser() user: AuthUser): Promise<void> {
    await this.auth.logoutAll(user.id);
  }

  @Get('me')
  @Auth()
  @ApiOperation({ summary: 'The caller, as stored now (not just the token claims)' })
  @ApiEnvelope(UserResponse)
  async me(@CurrentUser() user: AuthUser): Promise<UserResponse> {
    return toUserResponse(await this.users.findById(user.id));
  }

  @Patch('me/password')
  @HttpCode(204)
  @AuthRateLimit()
  @Auth()
  @ApiOperation({
    summary: 'Change the password; every session ends',
    description:
      'A wrong `currentPassword` is 401 `UNAUTHORIZED` (bad credentials), and so is a right one that stopped being current before the change was stored ' +
      '(another password change, a logout-all or a role change committed meanwhile): nothing changes. ' +
      "`AUTH_RATE_LIMIT` per IP, and a wrong `currentPassword` counts as a failed login of the account's email: once its failures are used up, 429 even with the right password.",
  })
  @ApiEnvelope(null, { errors: [400] })
  async changePassword(@CurrentUser() user: AuthUser, @Body() body: ChangePasswordDto): Promise<void> {
    await this.auth.changePassword(user.id, body.currentPassword, body.newPassword);
  }
}
