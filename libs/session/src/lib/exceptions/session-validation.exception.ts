import { BadRequestException } from '@nestjs/common';

/** Body of a `validation_failed` refusal: every message, and the fields they are about. */
export interface ValidationErrorBody {
  statusCode: 400;
  error: 'Bad Request';
  message: string[];
  code: 'validation_failed';
  fields: string[];
}

/**
 * 400 `validation_failed` naming the fields at fault, in the shape a class-validator
 * `ValidationPipe` with a field-naming `exceptionFactory` gives (so an app's own routes and
 * Tessera's answer alike): `{ statusCode, error, message: string[], code, fields: string[] }`.
 */
export class SessionValidationException extends BadRequestException {
  readonly code = 'validation_failed';

  constructor(
    readonly messages: string[],
    readonly fields: string[],
  ) {
    super({
      statusCode: 400,
      error: 'Bad Request',
      message: messages,
      code: 'validation_failed',
      fields,
    } satisfies ValidationErrorBody);
  }
}
