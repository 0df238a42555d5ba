/** The `user` of a login or refresh answer, as DEMO-API.md fixes it. */
export interface ContractUser {
  id: unknown;
  email: string;
  roles: string[];
}

/**
 * What a bearer-mode login or refresh must answer (DEMO-API.md), as a Jest matcher
 * object: `expect(body).toEqual(bearerLoginBody(user))`.
 */
export function bearerLoginBody(user: ContractUser): Record<string, unknown> {
  return {
    accessToken: expect.any(String),
    refreshToken: expect.any(String),
    tokenType: 'Bearer',
    expiresIn: expect.any(Number),
    user,
    session: { id: expect.any(String), expiresAt: expect.any(String) },
  };
}
