/** One result of a per-session step of `revokeByUser` / `updateUserSessions`. */
export interface Step {
  id: string;
  status: number;
  predecessor: string | null;
}

/**
 * Runs `step` on every session in the user's index, then reads the index again and
 * runs it on what is new, until nothing is: a session a concurrent `reissue` adds is
 * in the index before its old session is revoked, so it is found by the pass after the
 * one that found the old session revoked. An id whose session is not there yet (a
 * successor between its index entry and its record) is tried once more the next pass.
 */
export async function everySessionOf(
indexOf: () => Promise<string[]>,
exceptId: string | undefined,
step: (id: string) => Promise<Step>,
): Promise<Step[]> {
  const done = new Map<string, Step>();
  let retry = new Set<string>();
  for (;;) {
    const index = await indexOf();
    const todo = index.filter((id) => id !== exceptId && (!done.has(id) || retry.has(id)));
    if (todo.length === 0) break;
    const results = await Promise.all(todo.map(step));
    const absent = new Set<string>();
    for (const result of results) {
      if (result.status === -1 && !retry.has(result.id)) absent.add(result.id);
      done.set(result.id, result);
    }
    retry = absent;
  }
  return [...done.values()];
}

/**
 * The ids a per-user operation acted on (status 1), a reissue's successor and its old
 * session counted once: a successor counts unless the same call already acted on the
 * session it succeeds (which the reissue then copied, or made fail).
 */
export function countedIds(steps: Step[]): string[] {
  const acted = new Set(steps.filter((step) => step.status === 1).map((step) => step.id));
  return steps
    .filter((step) => step.status === 1 && !(step.predecessor !== null && acted.has(step.predecessor)))
    .map((step) => step.id);
}
