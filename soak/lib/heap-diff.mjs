// Compares two V8 heap snapshots by what they hold: every node is grouped by its type and
// constructor (or `(string)`, `(code)`, `(array)` for V8's own kinds), and the groups that
// grew most in bytes are listed. A leak shows as a constructor of the app (or a string or
// array kind) whose count keeps growing between two snapshots taken after the warm-up.
//
// Library: `heapDiff(fileA, fileB, top)`. Command line: `node soak/lib/heap-diff.mjs a b [top]`
// (used by `npm run soak` with SOAK_HEAP_SNAPSHOTS=1; works on any two .heapsnapshot files).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Bytes and counts per `type:constructor` group of one snapshot. */
export function heapGroups(file) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const { node_fields: fields, node_types: nodeTypes } = snapshot.snapshot.meta;
  const types = nodeTypes[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field));
  const named = new Set(['object', 'closure', 'native']);
  const groups = new Map();
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    // Only objects, closures and natives are named by their constructor; a string's "name" is its content.
    const name = named.has(type) ? strings[nodes[i + nameAt]].slice(0, 60) || '(anonymous)' : `(${type})`;
    const key = `${type}:${name}`;
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += nodes[i + sizeAt];
    groups.set(key, group);
  }
  return groups;
}

/** The `top` groups that grew most in bytes from snapshot `a` to `b`, and the totals. */
export function heapDiff(a, b, top = 10) {
  const before = heapGroups(a);
  const after = heapGroups(b);
  const keys = new Set([...before.keys(), ...after.keys()]);
  const rows = [...keys].map((key) => {
    const x = before.get(key) ?? { count: 0, bytes: 0 };
    const y = after.get(key) ?? { count: 0, bytes: 0 };
    return { group: key, count: y.count, bytes: y.bytes, countDelta: y.count - x.count, bytesDelta: y.bytes - x.bytes };
  });
  const total = (groups) => [...groups.values()].reduce((sum, g) => sum + g.bytes, 0);
  rows.sort((x, y) => y.bytesDelta - x.bytesDelta);
  return { before: total(before), after: total(after), grew: rows.slice(0, top) };
}

/** The diff as a markdown table. */
export function heapDiffTable(diff) {
  const kb = (bytes) => (bytes / 1024).toFixed(1);
  return [
    `Heap snapshots: ${kb(diff.before)} kB, then ${kb(diff.after)} kB (${diff.after >= diff.before ? '+' : ''}${kb(diff.after - diff.before)} kB). Groups that grew most:`,
    '',
    '| group (type:constructor) | count | count change | kB | kB change |',
    '|---|---|---|---|---|',
    ...diff.grew.map((r) => `| \`${r.group.replace(/\|/g, '\\|')}\` | ${r.count} | ${r.countDelta >= 0 ? '+' : ''}${r.countDelta} | ${kb(r.bytes)} | ${r.bytesDelta >= 0 ? '+' : ''}${kb(r.bytesDelta)} |`),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [a, b, top] = process.argv.slice(2);
  if (!a || !b) {
    console.error('usage: node soak/lib/heap-diff.mjs <before.heapsnapshot> <after.heapsnapshot> [top]');
    process.exit(2);
  }
  console.log(heapDiffTable(heapDiff(a, b, Number(top) || 15)));
}
