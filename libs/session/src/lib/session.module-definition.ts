import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { SessionModuleOptions } from './interfaces/session-module-options.interface';

/** Extra options of `forRoot` / `forRootAsync` that shape the module rather than sessions. */
export interface SessionModuleExtras {
  /** Register the module globally so feature modules need not import it. Default: `false`. */
  isGlobal?: boolean;
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: SESSION_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SessionModuleOptions>({ moduleName: 'Session' })
  .setClassMethodName('forRoot')
  .setExtras<SessionModuleExtras>({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
