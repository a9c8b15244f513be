/**
 * Property tests for the network loader: whatever text or structure arrives,
 * validation never throws, and a rejection always carries located issues.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GreenwaveError, type Issue } from '../errors.js';
import { compileNetwork } from './compile.js';
import { parseNetworkText, validateNetwork, type ValidationResult } from './validate.js';

const DEMO_TEXT = readFileSync(new URL('../../examples/demo-city/network.json', import.meta.url), 'utf8');
const DEMO: unknown = JSON.parse(DEMO_TEXT);

type Key = string | number;
type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** Asserts the result is well formed: ok with a network, or not ok with located, stack-free issues. */
function checkResult(result: ValidationResult): void {
  if (result.ok) {
    expect(result.network).toBeTypeOf('object');
    expect(Array.isArray(result.network.intersections)).toBe(true);
    return;
  }
  expect(result.issues.length).toBeGreaterThan(0);
  for (const issue of result.issues as Issue[]) {
    expect(typeof issue.path).toBe('string');
    expect(typeof issue.message).toBe('string');
    expect(issue.message.length).toBeGreaterThan(0);
    expect(issue.message).not.toMatch(/\n\s+at /);
  }
}

/** Runs `f`, failing the property with the thrown error if it throws. */
function mustNotThrow(f: () => ValidationResult): ValidationResult {
  try {
    return f();
  } catch (e: unknown) {
    throw new Error(`validation threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}

/** Every path in a JSON tree (the root is []). */
function allPaths(value: JsonValue, prefix: Key[] = [], out: Key[][] = []): Key[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => allPaths(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const k of Object.keys(value)) allPaths(value[k]!, [...prefix, k], out);
  return out;
}

function getAt(root: JsonValue, path: readonly Key[]): JsonValue {
  let v: JsonValue = root;
  for (const k of path) v = (v as Record<Key, JsonValue>)[k]!;
  return v;
}

type Mutation =
  | { kind: 'delete'; pick: number }
  | { kind: 'replace'; pick: number; value: JsonValue }
  | { kind: 'duplicate'; pick: number; at: number }
  | { kind: 'swap'; pick: number; other: number };

/**
 * Applies one mutation in place at the `pick`-th path (modulo the path count,
 * so picks stay meaningful as earlier mutations reshape the tree). Returns the new root.
 */
function mutate(root: JsonValue, m: Mutation): JsonValue {
  const paths = allPaths(root);
  if (m.kind === 'duplicate' || m.kind === 'swap') {
    const arrays = paths.filter((p) => Array.isArray(getAt(root, p)) && (getAt(root, p) as JsonValue[]).length > 0);
    if (arrays.length === 0) return root;
    const arr = getAt(root, arrays[m.pick % arrays.length]!) as JsonValue[];
    if (m.kind === 'duplicate') {
      const i = m.at % arr.length;
      arr.splice(i, 0, structuredClone(arr[i]!));
    } else {
      const i = m.pick % arr.length;
      const j = m.other % arr.length;
      [arr[i], arr[j]] = [arr[j]!, arr[i]!];
    }
    return root;
  }
  const path = paths[m.pick % paths.length]!;
  if (path.length === 0) return m.kind === 'replace' ? m.value : root;
  const parent = getAt(root, path.slice(0, -1)) as JsonValue[] | Record<string, JsonValue>;
  const key = path[path.length - 1]!;
  if (m.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key as string];
  } else if (Array.isArray(parent)) {
    parent[key as number] = m.value;
  } else {
    parent[key as string] = m.value;
  }
  return root;
}

const pick = fc.nat({ max: 1_000_000 });
// JSON round trip: drops anything JSON.parse could not produce (e.g. -0 keeps, undefined never appears).
const jsonValue = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as JsonValue);
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), pick }),
  fc.record({ kind: fc.constant('replace' as const), pick, value: jsonValue }),
  // Small, plausible replacements hit the semantic checks more often than random JSON does.
  fc.record({
    kind: fc.constant('replace' as const),
    pick,
    value: fc.oneof(
      fc.constantFrom<JsonValue>(0, 1, -1, 3, 10, 60, 150, 1e9, '', 'I1', 'EB-1', 'NBL', 'NBT', 'EBT', 'X', 'N', 'stages', 'ringBarrier', [], {}, null, true),
      fc.integer({ min: -5, max: 400 }),
    ),
  }),
  fc.record({ kind: fc.constant('duplicate' as const), pick, at: pick }),
  fc.record({ kind: fc.constant('swap' as const), pick, other: pick }),
);

describe('parseNetworkText on arbitrary text', () => {
  it('never throws and rejects non-networks with located issues', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const result = mustNotThrow(() => parseNetworkText(text, 'fuzz.json'));
        expect(result.ok).toBe(false);
        checkResult(result);
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on arbitrary valid JSON text', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), (text) => {
        const result = mustNotThrow(() => parseNetworkText(text, 'fuzz.json'));
        expect(result.ok).toBe(false);
        checkResult(result);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary JavaScript values', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 3, withNullPrototype: true, withMap: true, withSet: true, withDate: true, withBigInt: true }), (value) => {
        checkResult(mustNotThrow(() => validateNetwork(value)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('structural mutations of the demo network', () => {
  it('the unmutated demo network is valid', () => {
    const result = validateNetwork(structuredClone(DEMO));
    expect(result.ok ? [] : result.issues).toEqual([]);
  });

  it('validateNetwork never throws and either accepts or explains with paths', () => {
    let rejected = 0;
    fc.assert(
      fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (mutations) => {
        let net = structuredClone(DEMO) as JsonValue;
        for (const m of mutations) net = mutate(net, m);
        const result = mustNotThrow(() => validateNetwork(net));
        checkResult(result);
        if (!result.ok) rejected++;
        // What validation accepts, compilation must handle (at worst with a typed input error).
        if (result.ok) {
          try {
            compileNetwork(result.network);
          } catch (e: unknown) {
            expect(e).toBeInstanceOf(GreenwaveError);
          }
        }
        // The text route must agree with the value route.
        const viaText = mustNotThrow(() => parseNetworkText(JSON.stringify(net) ?? '', 'mutated.json'));
        expect(viaText.ok).toBe(result.ok);
        if (!viaText.ok && !result.ok) expect(viaText.issues).toEqual(result.issues);
      }),
      { numRuns: 600 },
    );
    // Sanity: the mutations actually break things most of the time.
    expect(rejected).toBeGreaterThan(100);
  });

  it('parseNetworkText never throws on truncated demo text', () => {
    fc.assert(
      // Cutting only trailing whitespace would leave complete JSON.
      fc.property(fc.nat({ max: DEMO_TEXT.trimEnd().length - 1 }), (cut) => {
        const result = mustNotThrow(() => parseNetworkText(DEMO_TEXT.slice(0, cut), 'truncated.json'));
        expect(result.ok).toBe(false);
        checkResult(result);
        if (!result.ok) {
          expect(result.issues).toHaveLength(1);
          expect(result.issues[0]!.path).toBe('truncated.json');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('parseNetworkText never throws on mutated then truncated or spliced text', () => {
    fc.assert(
      fc.property(
        fc.array(mutationArb, { minLength: 0, maxLength: 2 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.string({ maxLength: 8 }),
        (mutations, where, junk) => {
          let net = structuredClone(DEMO) as JsonValue;
          for (const m of mutations) net = mutate(net, m);
          const text = JSON.stringify(net, null, 1);
          const at = Math.floor(where * text.length);
          checkResult(mustNotThrow(() => parseNetworkText(text.slice(0, at), 'cut.json')));
          checkResult(mustNotThrow(() => parseNetworkText(text.slice(0, at) + junk + text.slice(at), 'spliced.json')));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('timing-relevant numbers anywhere in the network never make validation throw', () => {
    const numberPaths = allPaths(DEMO as JsonValue).filter((p) => typeof getAt(DEMO as JsonValue, p) === 'number');
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ which: fc.nat({ max: numberPaths.length - 1 }), value: fc.double({ min: -1000, max: 1000, noNaN: true }) }),
          { minLength: 1, maxLength: 5 },
        ),
        (edits) => {
          const net = structuredClone(DEMO) as JsonValue;
          for (const e of edits) {
            const path = numberPaths[e.which]!;
            const parent = getAt(net, path.slice(0, -1)) as Record<Key, JsonValue>;
            parent[path[path.length - 1]!] = e.value;
          }
          checkResult(mustNotThrow(() => validateNetwork(net)));
        },
      ),
      { numRuns: 500 },
    );
  });
});
