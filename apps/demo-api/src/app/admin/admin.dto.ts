import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayUnique, IsArray, IsString, Matches } from 'class-validator';

/** A role name: lower-case letters, digits, `-` and `_`, starting with a letter, at most 32 characters. */
export const ROLE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

/** Body of `PUT /api/admin/users/:id/roles`. */
export class RolesDto {
  @ApiProperty({
    type: [String],
    maxItems: 16,
    uniqueItems: true,
    example: ['user'],
    description: 'The complete new set of roles (replaces the old one). Each matches `^[a-z][a-z0-9_-]{0,31}$`.',
  })
  @IsArray()
  @ArrayMaxSize(16)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(ROLE_PATTERN, { each: true, message: 'each role must be lower-case letters, digits, - or _ (at most 32)' })
  roles: string[];
}
