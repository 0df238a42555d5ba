import { SetMetadata } from '@nestjs/common';
import { SKIP_CSRF_KEY } from '../constants';

/**
 * Turns CSRF checks off for a route or controller. DANGEROUS: any site the user visits
 * can then make the browser send this request with the user's cookies. Use it only for
 * routes that change nothing or authenticate by other means (webhooks with signatures).
 */
export const SkipCsrf = () => SetMetadata(SKIP_CSRF_KEY, true);
