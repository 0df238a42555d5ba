// Preload (`node --require`) of the telemetry scenario's `no-api` variant: makes
// `@opentelemetry/api` impossible to resolve, as in an app that does not install it, so the
// session library finds no API and records nothing. The demo loads no other OpenTelemetry
// package with METRICS=off.
const Module = require('node:module');

const resolve = Module._resolveFilename;
let told = false;
Module._resolveFilename = function resolveWithoutOpenTelemetry(request, ...rest) {
  if (request === '@opentelemetry/api' || request.startsWith('@opentelemetry/api/')) {
    if (!told) {
      told = true;
      process.stderr.write('bench: @opentelemetry/api is absent for this app (otel-absent.cjs)\n');
    }
    const error = new Error(`Cannot find module '${request}'`);
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolve.call(this, request, ...rest);
};
