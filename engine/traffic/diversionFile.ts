/**
 * The diversion file (`greenwave serve --diversion diversion.json`, docs/traffic.md
 * "Diversion guidance in serve"): the decision points of engine/traffic/diversion.ts with
 * their signs' Modbus addresses, and the guide's margins. Read and checked at start against
 * the network's traffic links (./links.ts ids): every problem is collected with its field path
 * (`decisionPoints[0].routes[1].links[2]: no link "L-X" …`) and thrown together as an
 * INVALID_INPUT, which `serve` turns into exit 2 as it does for the network and parking files.
 * Called by service/diversionSigns.ts (startDiversion).
 *
 * A sign's address is written as the parking signs write theirs (engine/parking/schema.ts
 * SignEndpointSchema: `endpoint: { host, port }` and `unitId`); a decision point without an
 * endpoint is still computed (log, metrics, RunningServer.diversion) but pushed nowhere.
 */
import { z } from 'zod';
import { ErrorCode, GreenwaveError, IssueList, type Issue, formatIssues } from '../errors.js';
import { readText } from '../files.js';
import { formatPath } from '../network/validate.js';
import { SignEndpointSchema } from '../parking/schema.js';
import type { DecisionPointConfig, DiversionOptions } from './diversion.js';
import type { TrafficLinks } from './links.js';
import type { CompiledNetwork } from '../network/compile.js';
import { parseMovementId } from '../network/geometry.js';

/** Lines of a guidance sign (controllers-adapter/signBlock.ts SIGN_MAX_LINES; the engine imports nothing above it). */
const SIGN_MAX_LINES = 8;

const id = z.string().min(1, 'must not be empty').max(64);

const RouteSchema = z
  .object({
    id,
    nameZh: z.string().min(1, 'must not be empty'),
    nameEn: z.string().min(1, 'must not be empty'),
    direction: z.enum(['left', 'ahead', 'right']),
    links: z.array(z.string().min(1, 'must not be empty')).min(1, 'needs at least one link'),
  })
  .strict();

const PlanMovementSchema = z
  .object({
    intersection: id,
    /** A movement id of the network file, approach and turn: "EBT", "NBL", … */
    movement: z.string().regex(/^(NB|SB|EB|WB)[LTRU]$/, 'must be a movement id such as "EBT" or "NBL"'),
  })
  .strict();

/**
 * The signal plan for while the point diverts (engine/traffic/diversionPlan.ts): `vehPerH` moved
 * off the main route's movements (`from`) onto the alternative's (`to`). With it, `serve` proposes
 * that plan for review when the point starts diverting (docs/traffic.md).
 */
const DiversionPlanSchema = z
  .object({
    vehPerH: z.number().positive().max(5000),
    from: z.array(PlanMovementSchema).min(1, 'needs at least one movement'),
    to: z.array(PlanMovementSchema).min(1, 'needs at least one movement'),
  })
  .strict();

const DecisionPointSchema = z
  .object({
    id,
    signId: id,
    /** The sign controller's Modbus unit id (required with `endpoint`). */
    unitId: z.number().int().min(1).max(247).optional(),
    endpoint: SignEndpointSchema.optional(),
    /** Show travel times only, never divert (routes that are not alternatives of each other). */
    travelTimesOnly: z.boolean().optional(),
    plan: DiversionPlanSchema.optional(),
    /** routes[0] is the main route. */
    routes: z.array(RouteSchema).min(1, 'needs at least one route').max(SIGN_MAX_LINES, `a sign has at most ${SIGN_MAX_LINES} lines`),
  })
  .strict();

export const DiversionFileSchema = z
  .object({
    /** The network's `name`, checked when both are given (as the parking file's). */
    network: z.string().optional(),
    options: z
      .object({
        onMarginS: z.number().positive().finite().optional(),
        offMarginS: z.number().min(0).finite().optional(),
        minHoldS: z.number().min(0).finite().optional(),
      })
      .strict()
      .optional(),
    decisionPoints: z.array(DecisionPointSchema).min(1, 'needs at least one decision point'),
  })
  .strict();
export type DiversionFile = z.infer<typeof DiversionFileSchema>;

/** A sign's Modbus address, as service/signPusher.ts takes it. */
export interface DiversionSignEndpoint {
  readonly signId: string;
  readonly unitId: number;
  readonly host: string;
  readonly port: number;
}

/** A decision point's plan (`plan` in the file), movements as intersection ids and movement indices (approach × 4 + turn). */
export interface DiversionPlanConfig {
  readonly vehPerH: number;
  readonly from: readonly { readonly intersection: string; readonly movement: number }[];
  readonly to: readonly { readonly intersection: string; readonly movement: number }[];
}

export interface CompiledDiversion {
  readonly points: readonly DecisionPointConfig[];
  readonly options: DiversionOptions;
  readonly endpoints: readonly DiversionSignEndpoint[];
  /** Decision point id → its plan, for the points that have one. */
  readonly plans: ReadonlyMap<string, DiversionPlanConfig>;
}

/** Reads, checks and compiles the diversion file at `path` for these links (network name `networkName`). */
export function loadDiversion(path: string, links: TrafficLinks, networkName = '', c?: CompiledNetwork): CompiledDiversion {
  const text = readText(path, 'diversion file');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e: unknown) {
    throw invalid(path, [{ path, message: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  return compileDiversion(raw, links, networkName, path, c);
}

/**
 * Checks a parsed value against the schema and the links (and a point's `plan` against the
 * network `c`: its intersections, and a lane serving each movement); throws INVALID_INPUT with
 * every issue.
 */
export function compileDiversion(raw: unknown, links: TrafficLinks, networkName = '', source = 'diversion file', c?: CompiledNetwork): CompiledDiversion {
  const parsed = DiversionFileSchema.safeParse(raw);
  if (!parsed.success) throw invalid(source, parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.code === 'unrecognized_keys' ? `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}` : i.message })));
  const file = parsed.data;
  const issues = new IssueList();
  if (file.network !== undefined && file.network !== '' && networkName !== '' && file.network !== networkName) issues.add('network', `refers to network "${file.network}", but the network file given is "${networkName}"`);
  const on = file.options?.onMarginS ?? 120;
  const off = file.options?.offMarginS ?? 30;
  if (!(off < on)) issues.add('options.offMarginS', `must be below onMarginS (${on}), got ${off}`);
  const pointIds = new Map<string, string>();
  const signIds = new Map<string, string>();
  const units = new Map<string, string>();
  const endpoints: DiversionSignEndpoint[] = [];
  const plans = new Map<string, DiversionPlanConfig>();
  file.decisionPoints.forEach((p, k) => {
    const at = `decisionPoints[${k}]`;
    const firstPoint = pointIds.get(p.id);
    if (firstPoint !== undefined) issues.add(`${at}.id`, `duplicate decision point id "${p.id}" (first used at ${firstPoint})`);
    else pointIds.set(p.id, `${at}.id`);
    const firstSign = signIds.get(p.signId);
    if (firstSign !== undefined) issues.add(`${at}.signId`, `sign "${p.signId}" already shows ${firstSign}'s guidance: one decision point per sign`);
    else signIds.set(p.signId, at);
    if (p.travelTimesOnly !== true && p.routes.length < 2) issues.add(`${at}.routes`, 'needs a main route and at least one alternative (or "travelTimesOnly": true)');
    if (p.endpoint !== undefined && p.unitId === undefined) issues.add(`${at}.unitId`, "is required with an endpoint (the sign controller's Modbus unit id)");
    if (p.endpoint !== undefined && p.unitId !== undefined) {
      const key = `${p.endpoint.host}:${p.endpoint.port}#${p.unitId}`;
      const first = units.get(key);
      if (first !== undefined) issues.add(`${at}.unitId`, `unit id ${p.unitId} is also ${first}'s at ${p.endpoint.host}:${p.endpoint.port}: each sign controller needs its own`);
      else units.set(key, at);
      endpoints.push({ signId: p.signId, unitId: p.unitId, host: p.endpoint.host, port: p.endpoint.port });
    }
    if (p.plan !== undefined) {
      const plan = p.plan;
      if (p.travelTimesOnly === true) issues.add(`${at}.plan`, 'a travel-times-only point never diverts: it needs no plan');
      const moves = (field: 'from' | 'to') =>
        plan[field].map((m, mi) => {
          const where = `${at}.plan.${field}[${mi}]`;
          // The schema's pattern admits only movement ids.
          const movement = parseMovementId(m.movement)!.index;
          const i = c ? c.intersectionIds.indexOf(m.intersection) : -1;
          if (!c) issues.add(where, 'a plan needs the network to check it against');
          else if (i < 0) issues.add(`${where}.intersection`, `no intersection "${m.intersection}" in the network`);
          else {
            let served = false;
            for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]! && !served; l++) served = ((c.laneMovementMask[l]! >> movement) & 1) === 1;
            if (!served) issues.add(`${where}.movement`, `no lane of ${m.intersection} serves ${m.movement}`);
          }
          return { intersection: m.intersection, movement };
        });
      plans.set(p.id, { vehPerH: plan.vehPerH, from: moves('from'), to: moves('to') });
    }
    const routeIds = new Set<string>();
    p.routes.forEach((r, ri) => {
      if (routeIds.has(r.id)) issues.add(`${at}.routes[${ri}].id`, `duplicate route id "${r.id}"`);
      routeIds.add(r.id);
      r.links.forEach((l, li) => {
        if (!links.index.has(l)) issues.add(`${at}.routes[${ri}].links[${li}]`, `no link "${l}" in the network (link ids: the network's links, and <intersection>-<approach> for approaches fed from outside; docs/traffic.md)`);
      });
    });
  });
  if (issues.length > 0) throw invalid(source, issues.items);
  const options: DiversionOptions = { ...(file.options?.onMarginS !== undefined ? { onMarginS: on } : {}), ...(file.options?.offMarginS !== undefined ? { offMarginS: off } : {}), ...(file.options?.minHoldS !== undefined ? { minHoldS: file.options.minHoldS } : {}) };
  const points: DecisionPointConfig[] = file.decisionPoints.map((p) => ({ id: p.id, signId: p.signId, routes: p.routes, ...(p.travelTimesOnly === true ? { travelTimesOnly: true } : {}) }));
  return { points, options, endpoints, plans };
}

function invalid(source: string, issues: readonly Issue[]): GreenwaveError {
  return new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n${formatIssues(issues)}`, issues);
}
