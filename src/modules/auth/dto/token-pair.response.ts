import { ApiProperty } from '@nestjs/swagger';

export class TokenPairResponse {
  @ApiProperty({ description: 'JWT for `Authorization: Bearer …`' })
  accessToken: string;

  @ApiProperty({ description: 'Single-use: POST /auth/refresh returns a new pair and retires this one' })
  refreshToken: string;

  @ApiProperty({ example: 'Bearer' })
  tokenType: 'Bearer';

  @ApiProperty({ example: 900, description: 'Seconds until the access token expires' })
  expiresIn: number;

  @ApiProperty({ example: 604800, description: 'Seconds until the refresh token expires' })
  refreshExpiresIn: number;
}
