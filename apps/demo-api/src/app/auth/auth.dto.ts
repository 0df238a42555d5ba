import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

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
