/**
 * The JSON examples in the docs are checked against the schemas they
 * illustrate, so an example cannot drift from the format it documents:
 * docs/network-format.md's fragments (an approach, a detector, stage
 * phasing, conflict overrides, links and corridors) and docs/operations.md's
 * configuration file. Command outputs shown in the docs are generated instead
 * (cli/docs.ts). Fragments with an ellipsis are illustrations and are skipped,
 * but at least the ones named here must be found and checked.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApproachSchema, CorridorSchema, DetectorSchema, IntersectionSchema, LinkSchema, RingBarrierPhasingSchema, StagePhasingSchema } from '../engine/network/schema.js';
import { ServeConfigSchema } from '../cli/serveConfig.js';

/** The fenced ```json blocks of a docs page, each parsed (a `"key": …` fragment as an object). */
function jsonBlocks(page: string): { text: string; value: unknown }[] {
  const text = readFileSync(new URL(`../docs/${page}`, import.meta.url), 'utf8');
  return [...text.matchAll(/```json\n([\s\S]*?)```/g)]
    .map((m) => m[1]!.trim())
    .filter((b) => !b.includes('…'))
    .map((b) => ({ text: b, value: JSON.parse(b.startsWith('"') ? `{${b}}` : b) as unknown }));
}

/** Which schema a fragment shows, by its keys. */
function schemaFor(key: string): z.ZodType | undefined {
  return {
    phasing: z.discriminatedUnion('type', [StagePhasingSchema, RingBarrierPhasingSchema]),
    conflicts: IntersectionSchema.shape.conflicts,
    links: z.array(LinkSchema),
    corridors: z.array(CorridorSchema),
  }[key];
}

describe('docs JSON examples', () => {
  it('docs/network-format.md: every fragment without an ellipsis passes the part of the schema it shows', () => {
    const shown = new Set<string>();
    for (const { text, value } of jsonBlocks('network-format.md')) {
      const v = value as Record<string, unknown>;
      const parts: [string, z.ZodType, unknown][] = 'lanes' in v ? [['approach', ApproachSchema, v]] : 'kind' in v ? [['detector', DetectorSchema, v]] : Object.keys(v).map((k) => [k, schemaFor(k)!, v[k]]);
      for (const [name, schema, part] of parts) {
        expect(schema, `no schema for "${name}" in ${text}`).toBeDefined();
        const r = schema.safeParse(part);
        expect(r.success ? [] : r.error.issues.map((i) => `${name}.${i.path.join('.')}: ${i.message}`), text).toEqual([]);
        shown.add(name);
      }
    }
    expect([...shown].sort()).toEqual(['approach', 'conflicts', 'corridors', 'detector', 'links', 'phasing']);
  });

  it('docs/operations.md: the configuration file example is a valid serve configuration', () => {
    const configs = jsonBlocks('operations.md').filter((b) => typeof b.value === 'object' && b.value !== null && 'tokens' in b.value);
    expect(configs).toHaveLength(1);
    const r = ServeConfigSchema.safeParse(configs[0]!.value);
    expect(r.success ? [] : r.error.issues).toEqual([]);
  });
});
