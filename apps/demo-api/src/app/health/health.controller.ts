import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { Public } from '@tessera/session';
import type { Response } from 'express';
import type { DataSource } from 'typeorm';

const PROBE_TIMEOUT_MS = 2_000;

/** Liveness and database reachability. */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  @Get()
  @ApiOperation({ summary: 'Health and database status' })
  @ApiResponse({ status: 200, description: '`{ status: "ok", database: "up" }`' })
  @ApiResponse({ status: 503, description: '`{ status: "error", database: "down", code: "database_unavailable" }`' })
  async health(@Res({ passthrough: true }) response: Response) {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.dataSource.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS);
        }),
      ]);
      return { status: 'ok', database: 'up' };
    } catch {
      response.status(503);
      return { status: 'error', database: 'down', code: 'database_unavailable' };
    } finally {
      clearTimeout(timer);
    }
  }
}
