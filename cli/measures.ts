/**
 * `greenwave measures --events FILE.csv --network net.json [--svg pcd.svg] [--json]`: the
 * signal performance measures ATSPM computes, from a high-resolution event log in ATSPM's CSV
 * (engine/events/csv.ts) and the network it was logged on (engine/measures/): per phase
 * arrivals on green, platoon ratio, approach delay, split failures, termination types and
 * split monitor, and per corridor Link Pivot's offset suggestions. --svg writes the Purdue
 * coordination diagram of one phase (--intersection, --phase; default the first logged
 * intersection and its phase with the most arrivals). Bad input exits 2 with located
 * problems. Run by cli/main.ts; docs/measures.md describes the measures.
 */
import { parseArgs } from 'node:util';
import { ErrorCode, GreenwaveError } from '../engine/errors.js';
import { loadCompiledNetwork } from '../engine/network/load.js';
import { readEventsCsv } from '../engine/events/csv.js';
import { measuresReport, type MeasuresReport } from '../engine/measures/report.js';
import { measureContext, type MeasureContext } from '../engine/measures/context.js';
import { purdueCoordinationDiagram } from '../engine/measures/pcd.js';
import { renderPcdSvg } from '../engine/measures/pcdSvg.js';
import { readText, writeText } from './io.js';

/** Options of `greenwave measures` (also listed by its --help). */
export const MEASURES_OPTIONS = {
  events: { type: 'string' },
  network: { type: 'string' },
  svg: { type: 'string' },
  intersection: { type: 'string' },
  phase: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export const MEASURES_USAGE = `usage: greenwave measures --events <events.csv> --network <net.json> [--svg pcd.svg [--intersection ID] [--phase ID]] [--json]
  Signal performance measures from a high-resolution event log, as ATSPM
  defines them (docs/measures.md): per phase arrivals on green, platoon ratio,
  approach delay, split failures, termination types, split monitor and
  pedestrian service (walks, clearances, push-button delay); per intersection
  the TSP requests (check-in to check-out, early green or extension); per
  corridor Link Pivot's offset suggestions.
  --events        the event log, CSV: locationId,timestamp,eventCode,eventParam
  --network       the network the log was recorded on (location id = intersection id)
  --svg           write the Purdue coordination diagram of one phase
  --intersection  the diagram's intersection (default the first one in the log)
  --phase         the diagram's phase: its id or its number in the log (default
                  the phase with the most arrivals)
  --json          print the measures as JSON instead of tables
`;

const usage = (message: string): GreenwaveError => new GreenwaveError(ErrorCode.InvalidInput, `${message}\n\n${MEASURES_USAGE}`);

export function cmdMeasures(args: string[], out: (s: string) => void): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: MEASURES_OPTIONS });
  if (positionals.length > 0) throw usage(`measures: unexpected argument "${positionals[0]}"`);
  if (!values.events) throw usage('measures: --events is required');
  if (!values.network) throw usage('measures: --network is required');
  if (values.svg === undefined && (values.intersection !== undefined || values.phase !== undefined)) throw usage('measures: --intersection and --phase choose the --svg diagram; give --svg too');
  const c = loadCompiledNetwork(values.network);
  const events = readEventsCsv(readText(values.events, 'event log'), values.events);
  const known = c.intersectionIds.filter((id) => events.findLocation(id) >= 0);
  if (known.length === 0) throw new GreenwaveError(ErrorCode.InvalidInput, `${values.events}: no location in the log is an intersection of ${values.network} (location ids: ${events.locations.slice(0, 5).join(', ') || 'none'})`);
  const report = measuresReport(c, events);
  if (values.svg !== undefined) {
    const ctx = measureContext(c, events);
    const p = diagramPhase(ctx, known, values.intersection, values.phase);
    writeText(values.svg, renderPcdSvg(purdueCoordinationDiagram(ctx, p)));
  }
  out(values.json ? `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n` : formatReport(report));
  return 0;
}

/** The global phase the diagram draws: as asked, or the logged phase with the most arrivals. */
function diagramPhase(ctx: MeasureContext, known: readonly string[], intersection: string | undefined, phase: string | undefined): number {
  const { c } = ctx;
  const id = intersection ?? known[0]!;
  const i = c.intersectionIds.indexOf(id);
  if (i < 0) throw usage(`measures: --intersection "${id}" is not an intersection of the network`);
  if (ctx.location[i]! < 0) throw usage(`measures: --intersection "${id}" has no event in the log`);
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  if (phase !== undefined) {
    for (let p = p0; p < p1; p++) if (c.phaseIds[p] === phase) return p;
    for (let p = p0; p < p1; p++) if (String(ctx.numbering.phaseNumber[p]) === phase) return p;
    throw usage(`measures: --phase "${phase}" is neither a phase id nor a phase number of ${id} (${c.phaseIds.slice(p0, p1).join(', ')})`);
  }
  let best = p0;
  let most = -1;
  for (let p = p0; p < p1; p++) {
    const n = purdueCoordinationDiagram(ctx, p).cycles.reduce((sum, cy) => sum + cy.arrivals.length, 0);
    if (n > most) {
      most = n;
      best = p;
    }
  }
  return best;
}

const num = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');

/** Aligned columns: the first `ids` (names) left, the numbers right. */
function table(head: readonly string[], rows: readonly (readonly string[])[], ids = 2): string[] {
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((row) => row[k]!.length)));
  const fmt = (cells: readonly string[]) => cells.map((cell, k) => (k < ids ? cell.padEnd(widths[k]!) : cell.padStart(widths[k]!))).join('  ');
  return [fmt(head), ...rows.map(fmt)];
}

function formatReport(r: MeasuresReport): string {
  const lines: string[] = [];
  lines.push(`${r.events} events, ${new Date(r.fromMs).toISOString()} to ${new Date(r.toMs).toISOString()}`);
  lines.push('');
  const head = ['intersection', 'phase', 'no.', 'cycles', 'arrivals', 'AoG %', 'platoon', 'delay s/veh', 'split fail', 'gap/max/force', 'split s (mean)'];
  const rows = r.phases.map((p) => [
    p.intersectionId,
    p.phaseId,
    String(p.phaseNumber),
    String(p.cycles),
    String(p.arrivalsOnGreen.volume),
    num(p.arrivalsOnGreen.percentArrivalsOnGreen),
    num(p.arrivalsOnGreen.platoonRatio, 2),
    num(p.approachDelay.averageDelayS),
    `${p.splitFailures.failures}/${p.splitFailures.cycles}`,
    `${p.terminations.gapOut}/${p.terminations.maxOut}/${p.terminations.forceOff}`,
    num(p.split.meanS),
  ]);
  lines.push(...table(head, rows));
  const peds = r.phases.filter((p) => p.pedestrian !== undefined);
  if (peds.length > 0) {
    lines.push('');
    lines.push('pedestrians (walk 21 → clearance 22 → don\'t walk 23; delay from the first push-button call 45 to the walk)');
    const ph = ['intersection', 'phase', 'walks', 'on recall', 'walk s', 'clearance s (mean/min)', 'calls', 'delay s (mean/max)'];
    const pr = peds.map(({ intersectionId, phaseId, pedestrian: d }) => [intersectionId, phaseId, String(d!.walks), String(d!.walksOnRecall), num(d!.meanWalkS), `${num(d!.meanClearanceS)}/${num(d!.minClearanceS)}`, String(d!.calls), `${num(d!.averageDelayS)}/${num(d!.maxDelayS)}`]);
    lines.push(...table(ph, pr));
  }
  if (r.tsp.length > 0) {
    lines.push('');
    lines.push('transit signal priority (check-in 112 → check-out 115)');
    const th = ['intersection', 'requests', 'early green', 'extend', 'none', 'open', 'served s (mean/max)'];
    const tr = r.tsp.map((t) => [t.intersectionId, String(t.requests), String(t.earlyGreens), String(t.extendGreens), String(t.notAdjusted), String(t.open), `${num(t.meanServiceS)}/${num(t.maxServiceS)}`]);
    lines.push(...table(th, tr, 1));
  }
  for (const lp of r.linkPivot) {
    lines.push('');
    lines.push(`Link Pivot, corridor ${lp.corridorId} (cycle ${num(lp.cycleS)} s): predicted arrivals on green ${num(lp.percentArrivalsOnGreenBefore)} % -> ${num(lp.percentArrivalsOnGreenAfter)} %`);
    for (const a of lp.offsetAdjustmentS) lines.push(`  ${a.intersectionId.padEnd(12)} offset +${a.adjustmentS} s`);
  }
  return `${lines.join('\n')}\n`;
}
