import { Controller, Get } from '@nestjs/common';

/** `GET /probe`: a route with nothing of its own, for specs that only need the guard in front of it. */
@Controller()
export class ProbeController {
  @Get('probe')
  probe() {
    return { ok: true };
  }
}
