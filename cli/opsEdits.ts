/**
 * The edits file of `greenwave ops propose --edit edits.json`, checked here
 * before anything is sent, every problem named with its path in the file
 * (`edits[0].phases[1].greenS: must be a number`), and turned into the
 * OperatorEdit of ProposePlan (proto/greenwave/v1/operations.proto):
 *   [{ "intersectionId": "I3", "offsetS": 20, "phases": [{ "phaseId": "2", "greenS": 40 }] }]
 * Only the shape is checked here; whether the timing is safe is the server's
 * validator's to say (its refusal names the same paths). Called by cli/ops.ts.
 */
import { ErrorCode, GreenwaveError, IssueList, ValidationError } from '../engine/errors.js';
import { readText } from './io.js';
import type { Obj } from './opsClient.js';

const EDIT_KEYS = ['intersectionId', 'offsetS', 'phases'];
const PHASE_KEYS = ['phaseId', 'greenS'];

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function unknownKeys(issues: IssueList, o: Obj, known: readonly string[], path: string): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) issues.add(`${path}.${k}`, `unknown field (expected ${known.join(', ')})`);
}

function nonEmptyString(issues: IssueList, v: unknown, path: string, example: string): void {
  if (typeof v !== 'string' || v.trim() === '') issues.add(path, `must be a non-empty string such as "${example}"`);
}

function seconds(issues: IssueList, v: unknown, path: string, min: 'zero' | 'positive'): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) issues.add(path, 'must be a number of seconds');
  else if (min === 'zero' ? v < 0 : v <= 0) issues.add(path, min === 'zero' ? 'must be >= 0' : 'must be > 0');
}

/** The IntersectionEdit messages of the edits in `path`; ValidationError (exit 2) naming every bad field. */
export function readEdits(path: string): Obj[] {
  const text = readText(path, 'edits file');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e: unknown) {
    throw new GreenwaveError(ErrorCode.InvalidInput, `edits file "${path}": not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const issues = new IssueList();
  if (!Array.isArray(raw)) issues.add('edits', 'must be a list of intersection edits: [{ "intersectionId": "I3", "offsetS": 20, "phases": [{ "phaseId": "2", "greenS": 40 }] }]');
  else if (raw.length === 0) issues.add('edits', 'at least one edit is required');
  else {
    const seen = new Map<string, number>();
    raw.forEach((e: unknown, k) => {
      const at = `edits[${k}]`;
      if (!isObject(e)) {
        issues.add(at, 'must be an object with intersectionId and offsetS or phases');
        return;
      }
      unknownKeys(issues, e, EDIT_KEYS, at);
      nonEmptyString(issues, e['intersectionId'], `${at}.intersectionId`, 'I3');
      if (typeof e['intersectionId'] === 'string') {
        const first = seen.get(e['intersectionId']);
        if (first !== undefined) issues.add(`${at}.intersectionId`, `"${e['intersectionId']}" is edited twice (edits[${first}] too)`);
        else seen.set(e['intersectionId'], k);
      }
      if (e['offsetS'] !== undefined) seconds(issues, e['offsetS'], `${at}.offsetS`, 'zero');
      const phases = e['phases'];
      if (phases !== undefined && !Array.isArray(phases)) issues.add(`${at}.phases`, 'must be a list of { "phaseId": …, "greenS": … }');
      if (e['offsetS'] === undefined && (phases === undefined || (Array.isArray(phases) && phases.length === 0))) issues.add(at, 'changes nothing: give offsetS or phases');
      if (Array.isArray(phases)) {
        phases.forEach((p: unknown, j) => {
          const pat = `${at}.phases[${j}]`;
          if (!isObject(p)) {
            issues.add(pat, 'must be an object with phaseId and greenS');
            return;
          }
          unknownKeys(issues, p, PHASE_KEYS, pat);
          nonEmptyString(issues, p['phaseId'], `${pat}.phaseId`, '2');
          seconds(issues, p['greenS'], `${pat}.greenS`, 'positive');
        });
      }
    });
  }
  if (issues.length > 0) throw new ValidationError(`edits file "${path}"`, issues.items);
  return (raw as Obj[]).map((e) => ({
    intersection_id: e['intersectionId'],
    ...(e['offsetS'] !== undefined ? { offset_s: e['offsetS'] } : {}),
    phases: ((e['phases'] ?? []) as Obj[]).map((p) => ({ phase_id: p['phaseId'], green_s: p['greenS'] })),
  }));
}
