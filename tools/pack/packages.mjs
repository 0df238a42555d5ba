/** The libraries published as npm packages (folders under libs/), in dependency order. */
export const PACKAGES = ['session', 'session-typeorm'];
