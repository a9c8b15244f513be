import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { networkJsonSchema } from './schema.js';

// docs/network.schema.json is generated from the zod schema (`greenwave schema`); it must not drift.
it('the published JSON Schema matches the zod schema', () => {
  const published = JSON.parse(readFileSync(new URL('../../docs/network.schema.json', import.meta.url), 'utf8'));
  expect(published).toEqual(networkJsonSchema());
});
