import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthUser } from '../../core/auth/auth-user';
import { Auth, CurrentUser } from '../../core/auth/auth.decorators';
import { CursorPage, OffsetPage } from '../../core/http/pagination';
import { UuidParamPipe } from '../../core/http/uuid-param.pipe';
import { ApiEnvelope } from '../../core/swagger/api-envelope.decorator';
import { AccountsService } from './accounts.service';
import { AccountResponse, toAccountResponse } from './dto/account.response';
import { CreateAccountDto, DepositDto, HistoryQuery, ListAccountsQuery } from './dto/account-requests.dto';
import { toTransactionResponse, TransactionResponse } from './dto/transaction.response';

@ApiTags('accounts')
@Controller('accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Post()
  @Auth({ verifiedEmail: true })
  @ApiOperation({ summary: 'Open an account (balance 0) for the caller' })
  @ApiEnvelope(AccountResponse, { status: 201, errors: [400, 413, 415] })
  async create(@CurrentUser() actor: AuthUser, @Body() body: CreateAccountDto): Promise<AccountResponse> {
    return toAccountResponse(await this.accounts.create(actor, body));
  }

  @Get()
  @Auth()
  @ApiOperation({ summary: "The caller's accounts (admins: all, or one owner's with ?ownerId=)" })
  @ApiEnvelope(AccountResponse, { list: 'offset', errors: [400, 403] })
  async list(@CurrentUser() actor: AuthUser, @Query() query: ListAccountsQuery): Promise<OffsetPage<AccountResponse>> {
    return (await this.accounts.list(actor, query)).map(toAccountResponse);
  }

  @Get(':id')
  @Auth()
  @ApiOperation({ summary: 'One account (owner or admin)' })
  @ApiEnvelope(AccountResponse, { errors: [400, 403, 404] })
  async get(@CurrentUser() actor: AuthUser, @Param('id', UuidParamPipe) id: string): Promise<AccountResponse> {
    return toAccountResponse(await this.accounts.get(actor, id));
  }

  @Post(':id/deposits')
  @Auth({ roles: ['admin'] })
  @ApiOperation({ summary: 'Deposit money (admin)', description: '422 `BALANCE_LIMIT` when the balance would pass 2^53 − 1.' })
  @ApiEnvelope(TransactionResponse, { status: 201, errors: [400, 404, 422] })
  async deposit(@Param('id', UuidParamPipe) id: string, @Body() body: DepositDto): Promise<TransactionResponse> {
    return toTransactionResponse(await this.accounts.deposit(id, body.amount));
  }

  @Get(':id/transactions')
  @Auth()
  @ApiOperation({ summary: "An account's transactions, newest first (cursor mode only: limit, after)" })
  @ApiEnvelope(TransactionResponse, { list: 'cursor', errors: [400, 403, 404] })
  async history(
    @CurrentUser() actor: AuthUser,
    @Param('id', UuidParamPipe) id: string,
    @Query() query: HistoryQuery,
  ): Promise<CursorPage<TransactionResponse>> {
    return (await this.accounts.history(actor, id, query)).map(toTransactionResponse);
  }
}
