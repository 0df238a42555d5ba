import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsEmail, IsOptional, IsString, MaxLength, MinLength, ValidateIf } from 'class-validator';

/** Body of register and login. */
export class CredentialsDto {
  @ApiProperty({ example: 'ada@example.com', maxLength: 254 })
  @IsEmail()
  @MaxLength(254)
  email: string;

  @ApiProperty({ minLength: 8, maxLength: 128, format: 'password' })
  @IsString()
  @MinLength(8)
  @MaxLength(128)
  password: string;
}

/** Body of a bearer-mode refresh; cookie mode sends the refresh cookie instead. */
export class RefreshDto {
  @ApiPropertyOptional({ description: 'Bearer mode only: the refresh token from the last login or refresh.' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  refreshToken?: string;
}

/** Body of `POST /auth/logout-all`. */
export class LogoutAllDto {
  @ApiPropertyOptional({ description: 'Keep the session making this request; revoke only the others.', default: false })
  // Absent means false; null is refused like any other non-boolean (IsOptional would let it through).
  @ValidateIf((_body, value) => value !== undefined)
  @IsBoolean()
  keepCurrent?: boolean;
}
