import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength, ValidateBy, buildMessage, isEmail } from 'class-validator';
import type { ValidationOptions } from 'class-validator';

// A UTF-16 surrogate without its pair: JSON can carry one (`"\ud800"`), Unicode text cannot.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * class-validator's `@IsEmail()`, except that text with a lone surrogate is refused first:
 * validator's `isEmail` measures parts with `encodeURI`, which throws a URIError on one,
 * and that became a 500 (found by the HTTP fuzzer). Same name and message as `@IsEmail()`.
 */
function IsEmailAddress(validationOptions?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isEmail',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && !LONE_SURROGATE.test(value) && isEmail(value),
        defaultMessage: buildMessage((eachPrefix) => `${eachPrefix}$property must be an email`, validationOptions),
      },
    },
    validationOptions,
  );
}

/** Body of register and login. */
export class CredentialsDto {
  @ApiProperty({ example: 'ada@example.com', maxLength: 254 })
  @IsEmailAddress()
  @MaxLength(254)
  email: string;

  @ApiProperty({ minLength: 8, maxLength: 128, format: 'password' })
  @IsString()
  @MinLength(8)
  @MaxLength(128)
  password: string;
}

/** Body of `POST /auth/reauthenticate`: the signed-in user's password, proved again. */
export class ReauthenticateDto {
  @ApiProperty({ format: 'password', maxLength: 128 })
  @IsString()
  @MaxLength(128)
  password: string;
}
