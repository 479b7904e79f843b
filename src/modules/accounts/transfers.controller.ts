import { Body, Controller, Get, Headers, Param, Post, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuthUser } from '../../core/auth/auth-user';
import { Auth, CurrentUser } from '../../core/auth/auth.decorators';
import { ValidationError } from '../../core/errors/app-error';
import { UuidParamPipe } from '../../core/http/uuid-param.pipe';
import { ApiEnvelope } from '../../core/swagger/api-envelope.decorator';
import { AccountsService } from './accounts.service';
import { TransferDto } from './dto/account-requests.dto';
import { toTransactionResponse, TransactionResponse } from './dto/transaction.response';
import { TransfersService } from './transfers.service';

const IDEMPOTENCY_KEY = /^[\x20-\x7E]{1,255}$/;

@ApiTags('transfers')
@Controller('transfers')
export class TransfersController {
  constructor(
    private readonly transfers: TransfersService,
    private readonly accounts: AccountsService,
  ) {}

  @Post()
  @Auth({ verifiedEmail: true })
  @ApiOperation({
    summary: 'Move money between two accounts of the same currency (owner of the source, or admin)',
    description:
      'With an `Idempotency-Key`, a retry with the same body answers the stored status and body with ' +
      '`Idempotent-Replayed: true` and moves no money; a different body under the key is 422 ' +
      '`IDEMPOTENCY_KEY_MISMATCH`; while the first request runs, 409. Keys are kept 24 h, per caller.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: '1 to 255 printable characters' })
  @ApiEnvelope(TransactionResponse, { status: 201, errors: [400, 404, 409, 413, 415, 422] })
  async create(
    @CurrentUser() actor: AuthUser,
    @Body() body: TransferDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TransactionResponse> {
    if (idempotencyKey !== undefined && (!IDEMPOTENCY_KEY.test(idempotencyKey) || idempotencyKey.trim() === '')) {
      throw new ValidationError({ 'Idempotency-Key': ['Idempotency-Key must be 1 to 255 printable characters'] });
    }
    const outcome = await this.transfers.transfer(actor, body, idempotencyKey);
    if (outcome.replayed) void reply.header('Idempotent-Replayed', 'true').status(outcome.status);
    return outcome.transaction;
  }

  @Get(':id')
  @Auth()
  @ApiOperation({ summary: 'One transfer (owner of either side, or admin)' })
  @ApiEnvelope(TransactionResponse, { errors: [400, 403, 404] })
  async get(@CurrentUser() actor: AuthUser, @Param('id', UuidParamPipe) id: string): Promise<TransactionResponse> {
    return toTransactionResponse(await this.accounts.getTransfer(actor, id));
  }
}
