/** The one element with `data-testid=<id>` (the page's contract with the browser tests), or an error naming it. */
export function byTestId<T extends HTMLElement = HTMLElement>(id: string, root: ParentNode = document): T {
  const element = root.querySelector<T>(`[data-testid="${id}"]`);
  if (!element) throw new Error(`The page has no [data-testid=${id}]`);
  return element;
}

/** The one element with `data-field=<name>` (text the page fills in), or an error naming it. */
export function field<T extends HTMLElement = HTMLElement>(name: string, root: ParentNode = document): T {
  const element = root.querySelector<T>(`[data-field="${name}"]`);
  if (!element) throw new Error(`The page has no [data-field=${name}]`);
  return element;
}

/** Attributes of `element()`: `class`, `data-*`, `aria-*` and the like, set as attributes (never `style`: the CSP forbids it). */
export type Attributes = Record<string, string | undefined>;

/**
 * Creates an element with attributes and children. Text is added as text nodes, never as
 * HTML, so nothing the server or another user sent (a User-Agent, an email) can become markup.
 */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

/** Disables a form's or a button's controls while `work` runs, so a double click sends one request. */
export async function busy<T>(controls: Array<HTMLButtonElement | HTMLFormElement>, work: () => Promise<T>): Promise<T> {
  const buttons = controls.flatMap((control) =>
    control instanceof HTMLFormElement ? [...control.querySelectorAll<HTMLButtonElement>('button')] : [control],
  );
  for (const button of buttons) button.disabled = true;
  try {
    return await work();
  } finally {
    for (const button of buttons) button.disabled = false;
  }
}
