import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';

/** Body of `POST /api/me/password`. */
export class ChangePasswordDto {
  @ApiProperty({ format: 'password', maxLength: 128 })
  @IsString()
  @MaxLength(128)
  currentPassword: string;

  @ApiProperty({ format: 'password', minLength: 8, maxLength: 128 })
  @IsString()
  @MinLength(8)
  @MaxLength(128)
  newPassword: string;
}
