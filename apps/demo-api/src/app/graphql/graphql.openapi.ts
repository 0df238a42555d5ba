import type { PathItemObject } from '@nestjs/swagger';

const REQUEST_SCHEMA = {
  type: 'object',
  required: ['query'],
  properties: {
    query: { type: 'string', example: '{ me { id email roles sessionId } }' },
    variables: { type: 'object', additionalProperties: true },
    operationName: { type: 'string' },
  },
};

const RESPONSE = {
  description:
    'GraphQL result `{ data, errors }`. A refused or failed field is an entry of `errors` with the REST code in ' +
    '`extensions.code` (`token_missing`, `token_invalid`, `token_expired`, `session_revoked`, `csrf_failed`, `forbidden`, ' +
    '`session_not_found`, `validation_failed`, `store_unavailable` with `extensions.retryAfter`, `internal_error`) and the ' +
    'REST status in `extensions.status`; the HTTP status stays 200.',
  content: { 'application/json': { schema: { type: 'object', properties: { data: { type: 'object', nullable: true }, errors: { type: 'array', items: { type: 'object' } } } } } },
};

/**
 * `/graphql` in the OpenAPI document (GraphQL has its own schema, through introspection
 * outside production; this entry says where it is and how it answers).
 */
export function graphqlPathItem(): PathItemObject {
  return {
    post: {
      tags: ['graphql'],
      summary: 'GraphQL: me, sessions, version, userSessions (admin); mutation revokeSession(id)',
      description:
        'Auth per field, as the REST routes (bearer header or access cookie). In cookie mode a mutation needs `X-CSRF-Token` ' +
        '(and an allowed `Origin`), as any unsafe REST request; queries do not. Apollo CSRF prevention: send ' +
        '`Content-Type: application/json` (or `Apollo-Require-Preflight`). Bodies over 100 kB: `413`. Request errors ' +
        '(syntax, unknown field) `400`.',
      security: [{ bearer: [] }, { 'access-cookie': [] }],
      requestBody: { required: true, content: { 'application/json': { schema: REQUEST_SCHEMA } } },
      responses: { 200: RESPONSE, 400: { description: 'Not a valid GraphQL request (`errors[].extensions.code` from the server)' }, 413: { description: '`payload_too_large`' } },
    },
    get: {
      tags: ['graphql'],
      summary: 'GraphQL queries over GET (never mutations: 405)',
      description: 'Needs `Apollo-Require-Preflight` (or `X-Apollo-Operation-Name`): Apollo refuses simple cross-site GETs (400).',
      security: [{ bearer: [] }, { 'access-cookie': [] }],
      parameters: [
        { name: 'query', in: 'query', required: true, schema: { type: 'string' } },
        { name: 'variables', in: 'query', required: false, schema: { type: 'string', description: 'JSON' } },
      ],
      responses: { 200: RESPONSE, 405: { description: 'A mutation sent as GET' } },
    },
  };
}
