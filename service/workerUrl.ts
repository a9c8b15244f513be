/**
 * Where a service worker script is: workers load JS from dist/, also when the
 * service runs from source (tests); then dist/ must match the source
 * (StaleBuildError otherwise, so a stale build never runs silently). Used by
 * the Replan worker pool (./replan.ts) and the review's simulation pool
 * (./lifecycle/review.ts).
 */
import { fileURLToPath } from 'node:url';
import { assertFreshBuild } from '../engine/pool/freshBuild.js';

/** The compiled worker script `service/<name>.js`. */
export function serviceWorkerUrl(name: string): URL {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith('.ts')) return new URL(`./${name}.js`, import.meta.url);
  const url = new URL(`../dist/service/${name}.js`, import.meta.url);
  assertFreshBuild(url, new URL('../', import.meta.url));
  return url;
}
