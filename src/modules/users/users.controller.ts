import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthUser } from '../../core/auth/auth-user';
import { Auth, CurrentUser } from '../../core/auth/auth.decorators';
import { ApiEmbeds } from '../../core/http/embeds';
import { CursorPage, OffsetPage } from '../../core/http/pagination';
import { UuidParamPipe } from '../../core/http/uuid-param.pipe';
import { ApiEnvelope } from '../../core/swagger/api-envelope.decorator';
import { ListUsersQuery } from './dto/list-users.query';
import { CreateUserDto, UpdateUserDto } from './dto/user-requests.dto';
import { toUserResponse, UserResponse } from './dto/user.response';
import { UsersService } from './users.service';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @Auth({ roles: ['admin'] })
  @ApiOperation({
    summary: 'List users (admin)',
    description:
      'Offset mode (`page`, `pageSize`) adds `meta.pagination`; cursor mode (`limit`, `after`) adds `meta.cursor`. ' +
      'Mixing the two is 400 `BAD_REQUEST`; a cursor from another query or an altered one is 400 `BAD_REQUEST`.',
  })
  @ApiEnvelope(UserResponse, {
    list: 'offset',
    errors: [400],
    description: 'A page of users (offset mode shown; cursor mode has meta.cursor)',
  })
  @ApiEmbeds('users', UserResponse)
  async list(@Query() query: ListUsersQuery): Promise<OffsetPage<UserResponse> | CursorPage<UserResponse>> {
    return (await this.users.list(query)).map(toUserResponse);
  }

  @Post()
  @Auth({ roles: ['admin'] })
  @ApiOperation({ summary: 'Create a user (admin), optionally with roles' })
  @ApiEnvelope(UserResponse, { status: 201, errors: [400, 409, 413, 415] })
  async create(@Body() body: CreateUserDto): Promise<UserResponse> {
    return toUserResponse(await this.users.create(body));
  }

  @Get(':id')
  @Auth()
  @ApiOperation({ summary: 'Get a user (self or admin); served from the cache when warm' })
  @ApiEnvelope(UserResponse, { errors: [400, 403, 404] })
  async get(@CurrentUser() actor: AuthUser, @Param('id', UuidParamPipe) id: string): Promise<UserResponse> {
    return toUserResponse(await this.users.get(actor, id));
  }

  @Patch(':id')
  @Auth()
  @ApiOperation({ summary: 'Update name or email (self or admin); only an admin may set roles' })
  @ApiEnvelope(UserResponse, { errors: [400, 403, 404, 409, 413, 415] })
  async update(@CurrentUser() actor: AuthUser, @Param('id', UuidParamPipe) id: string, @Body() body: UpdateUserDto): Promise<UserResponse> {
    return toUserResponse(await this.users.update(actor, id, body));
  }

  @Delete(':id')
  @Auth({ roles: ['admin'] })
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user (admin)' })
  @ApiEnvelope(null, { errors: [400, 404, 409] })
  async remove(@Param('id', UuidParamPipe) id: string): Promise<void> {
    await this.users.remove(id);
  }
}
