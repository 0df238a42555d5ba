import { SetMetadata } from '@nestjs/common';
import { ROLES_KEY } from '../constants';

/** Requires the caller to hold at least one of these roles (403 otherwise). */
export const Roles = (...roles: string[]) => SetMetadata(ROLES_KEY, roles);
