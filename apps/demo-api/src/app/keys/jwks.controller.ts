import { Controller, Get, NotFoundException, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AccessTokenService, Public } from '@tessera/session';
import type { JwksDocument } from '@tessera/session';
import type { DemoResponse } from '../common/http';

/** Answer when the ring holds no public key. */
export const NO_PUBLIC_KEYS_MESSAGE = 'No public keys: access tokens are signed with HS256';
/** How long clients and caches may keep the key set: long enough to spare us, short enough for rotations. */
const JWKS_CACHE_CONTROL = 'public, max-age=300';

/** The public keys that verify access tokens (RFC 7517 JWKS), for servers that check tokens themselves. */
@ApiTags('keys')
@Public()
@Controller('.well-known')
export class JwksController {
  constructor(private readonly tokens: AccessTokenService) {}

  @Get('jwks.json')
  @ApiOperation({ summary: 'Public keys of the access tokens (Ed25519 only)' })
  @ApiResponse({ status: 200, description: '`{ keys: [{ kty: "OKP", crv: "Ed25519", x, kid, alg: "EdDSA", use: "sig" }] }`' })
  @ApiResponse({ status: 404, description: '`not_found`: access tokens are signed with HS256, whose key is never published' })
  jwks(@Res({ passthrough: true }) response: DemoResponse): JwksDocument {
    const document = this.tokens.jwks();
    if (document.keys.length === 0) {
      throw new NotFoundException({ statusCode: 404, error: 'Not Found', message: NO_PUBLIC_KEYS_MESSAGE, code: 'not_found' });
    }
    // Only the 200 is cacheable: a cached 404 would hide the keys for minutes after a switch to Ed25519.
    response.header('Cache-Control', JWKS_CACHE_CONTROL);
    return document;
  }
}
