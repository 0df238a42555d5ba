import { BadRequestException, ParseUUIDPipe, ValidationPipe } from '@nestjs/common';
import type { ValidationError } from 'class-validator';

function flatten(errors: ValidationError[], parent = ''): Array<{ field: string; messages: string[] }> {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, messages: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** 400 `validation_failed` naming the fields at fault: the one shape of every input failure. */
export function validationFailed(messages: string[], fields: string[]): BadRequestException {
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: messages,
    code: 'validation_failed',
    fields,
  });
}

/** The global pipe: unknown fields refused, each failure named by its field, `code: validation_failed`. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    // Echoing the rejected value could put a password in a response.
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const fields = flatten(errors);
      return validationFailed(
        fields.flatMap((entry) => entry.messages),
        fields.map((entry) => entry.field),
      );
    },
  });
}

/**
 * A route parameter that must be a UUID; anything else is 400 `validation_failed`
 * naming `field`, in the same shape as a body failure (Nest's default would be a bare
 * message without `fields`).
 */
export function uuidParamPipe(field: string): ParseUUIDPipe {
  return new ParseUUIDPipe({ exceptionFactory: () => validationFailed([`${field} must be a UUID`], [field]) });
}
