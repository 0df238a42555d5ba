import { Controller, Get, Logger, NotFoundException, Param, Res } from '@nestjs/common';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '@tessera/session';
import type { DemoResponse } from '../common/http';
import { errorBody } from '../common/error-body';
import type { ErrorBody } from '../common/error-body';
import { AppConfig } from '../config/app-config';
import { ASSETS_PATH, PAGE_CSP, PageFiles } from './web-page.files';

/** `code` of the answer to `GET /` when the page has not been built. */
export const PAGE_NOT_BUILT = 'page_not_built';
/** What `GET /` says when the page has not been built. */
export const PAGE_NOT_BUILT_MESSAGE =
  'The demo page is not built: run `npx nx run demo-api:build-web` (`npm start` does), or point WEB_ROOT at its folder. The API works without it.';

/**
 * The page is public and names no user, but it is the app: a browser revalidates it on
 * every load (`no-cache`, not `no-store`), so a new build is picked up at once.
 */
const PAGE_CACHE_CONTROL = 'no-cache';
/** Asset names carry a hash of their content: a name never changes meaning (RFC 8246, immutable). */
const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** The headers of the page and of its assets besides the type and caching. */
function pageHeaders(response: DemoResponse, contentType: string, cacheControl: string): void {
  response.header('Content-Type', contentType);
  response.header('Cache-Control', cacheControl);
  // Replaces helmet's policy (set before routing) for this response only.
  response.header('Content-Security-Policy', PAGE_CSP);
  // The legacy twin of frame-ancestors 'none', for browsers without CSP 2 (helmet's is SAMEORIGIN).
  response.header('X-Frame-Options', 'DENY');
  response.header('X-Content-Type-Options', 'nosniff');
}

/**
 * The demo page (`GET /`) and its content-hashed assets (`GET /assets/<name>`), built
 * from apps/demo-api/web by `nx run demo-api:build-web` into WEB_ROOT. The same on
 * Express and Fastify; HEAD is answered by both platforms from the GET routes.
 */
@ApiTags('page')
@Public()
@Controller()
export class WebPageController implements OnApplicationBootstrap {
  private readonly logger = new Logger('WebPage');
  private readonly files: PageFiles;

  constructor(config: AppConfig) {
    this.files = new PageFiles(config.webRoot);
  }

  onApplicationBootstrap(): void {
    if (!this.files.page()) this.logger.warn(`The demo page is not built in ${this.files.directory}: GET / answers 503 until it is`);
  }

  @Get()
  @ApiOperation({
    summary: 'The demo page',
    description:
      'HTML of the browser demo (register, log in, sessions, refresh panel), with a strict Content-Security-Policy ' +
      "(`default-src 'none'`, scripts and styles from this origin only, no inline script or style) and `Cache-Control: no-cache`.",
  })
  @ApiProduces('text/html')
  @ApiResponse({ status: 200, description: 'The page' })
  @ApiResponse({ status: 503, description: '`page_not_built`: the page has not been built (`npx nx run demo-api:build-web`); the API works without it' })
  page(@Res({ passthrough: true }) response: DemoResponse): string | ErrorBody {
    const page = this.files.page();
    if (!page) {
      // Answered, not thrown: a designed 503, which the error filter would log as a server error on every load.
      response.status(503);
      return errorBody(503, PAGE_NOT_BUILT_MESSAGE, PAGE_NOT_BUILT);
    }
    pageHeaders(response, 'text/html; charset=utf-8', PAGE_CACHE_CONTROL);
    return page.html;
  }

  @Get(`${ASSETS_PATH}/:name`)
  @ApiOperation({ summary: 'An asset of the demo page (content-hashed name, cached for a year)' })
  @ApiParam({ name: 'name', description: 'A file name the page refers to, e.g. `app-0123456789ab.js`' })
  @ApiProduces('text/javascript', 'text/css', 'image/svg+xml')
  @ApiResponse({ status: 200, description: 'The asset, `Cache-Control: public, max-age=31536000, immutable`' })
  @ApiResponse({ status: 404, description: '`not_found`: no such asset' })
  asset(@Param('name') name: string, @Res({ passthrough: true }) response: DemoResponse): string {
    const asset = this.files.asset(name);
    if (!asset) throw new NotFoundException(errorBody(404, 'No such asset', 'not_found'));
    pageHeaders(response, asset.contentType, ASSET_CACHE_CONTROL);
    return asset.body;
  }
}
