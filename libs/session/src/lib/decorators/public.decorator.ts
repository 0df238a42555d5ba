import { SetMetadata } from '@nestjs/common';
import { IS_PUBLIC_KEY } from '../constants';

/** Lets a route or controller through `SessionGuard` without an access token. */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);
