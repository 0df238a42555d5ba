#!/usr/bin/env node
// Proves that loading @tessera/session (every entry point, as a CommonJS require of the
// built package, which both module formats are compiled from) loads no HTTP platform,
// GraphQL, WebSocket or database code: those integrations load only when an app uses
// them (issue 16; CONVENTIONS.md, "Core knows no backend"). The lint rule in
// libs/session/eslint.config.mjs stops a runtime import in the source; this checks what
// the build actually requires, transitively. The stores are checked the same way for their
// own optional peers (`@nestjs/terminus`, which only their health indicators import(), and
// node-redis). Run by `npm run pack`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linkBuiltPackages } from './packages.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const libs = join(root, 'dist', 'libs');
linkBuiltPackages();

/** Packages an app may leave uninstalled and the core must not load by itself. */
const OPTIONAL = [
  'express', '@nestjs/platform-express', 'body-parser',
  'fastify', '@nestjs/platform-fastify', '@fastify/cookie',
  'graphql', '@nestjs/graphql', '@nestjs/apollo', '@apollo/server', '@nestjs/mercurius', 'mercurius',
  '@nestjs/websockets', '@nestjs/platform-socket.io', 'socket.io', 'ws',
  '@nestjs/swagger', 'class-validator', 'class-transformer',
  'typeorm', 'pg', 'redis', '@redis/client', 'ioredis',
  'bowser', '@nestjs/terminus',
];

/**
 * What each built package must not load by itself: the core, every optional package; the
 * stores, the optional peers of their own (the health indicators' terminus, node-redis
 * behind the Redis store's `url` convenience) and the core's optional parsers.
 */
const CHECKS = [
  { lib: 'session', optional: OPTIONAL },
  { lib: 'session-typeorm', optional: ['@nestjs/terminus', 'bowser', 'redis', '@redis/client'] },
  { lib: 'session-redis', optional: ['@nestjs/terminus', 'bowser', 'redis', '@redis/client', 'typeorm', 'pg'] },
];

let failed = false;
for (const { lib, optional } of CHECKS) {
  const manifest = JSON.parse(readFileSync(join(libs, lib, 'package.json'), 'utf8'));
  const specifiers = Object.keys(manifest.exports)
    .filter((subpath) => typeof manifest.exports[subpath] !== 'string')
    .map((subpath) => `${manifest.name}${subpath.slice(1)}`);

  // A fresh process per check, so nothing loaded by this script counts.
  const script = `
    require('reflect-metadata');
    const before = new Set(Object.keys(require.cache));
    for (const specifier of ${JSON.stringify(specifiers)}) require(specifier);
    const loaded = Object.keys(require.cache).filter((file) => !before.has(file));
    const optional = ${JSON.stringify(optional)};
    const offending = new Set();
    for (const file of loaded) {
      const match = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(file.slice(file.lastIndexOf('node_modules')));
      const name = match && match[1].replace(/\\\\/g, '/');
      if (name && optional.includes(name)) offending.add(name);
    }
    process.stdout.write(JSON.stringify({ files: loaded.length, offending: [...offending].sort() }));
  `;
  const output = execFileSync(process.execPath, ['-e', script], { cwd: libs, encoding: 'utf8' });
  const { files, offending } = JSON.parse(output);
  if (offending.length > 0) {
    console.error(`${specifiers.join(', ')} loaded optional packages at load time: ${offending.join(', ')}`);
    failed = true;
    continue;
  }
  console.log(`${specifiers.join(', ')}: ${files} modules loaded, none of ${optional.length} optional packages`);
}
if (failed) process.exit(1);
