/**
 * The service's network traffic state: the links (engine/traffic/links.ts),
 * their state (engine/traffic/linkState.ts) for the loop interval the plan in
 * force was made for, taken from the counts the service was started with, and
 * the incidents list. Built by startServer (./server.ts); read by
 * TrafficStateService (./trafficService.ts).
 *
 * Not live yet: the controllers' counts (./countCollector.ts) are stored but
 * not fed in here, and the incident detector (engine/traffic/incident*.ts) is
 * not wired in: `incidents` is an in-memory list that `reportIncident` and
 * `clearIncident` change, empty until something calls them.
 */
import { trafficLinks, type TrafficLinks } from '../engine/traffic/links.js';
import { LinkStateEstimator } from '../engine/traffic/linkState.js';
import type { ServiceState } from './state.js';
import { notFound } from './errors.js';
import type { ServicePlan } from './replan.js';

export interface IncidentRecord {
  readonly incidentId: string;
  readonly linkId: string;
  readonly detectorId: string;
  readonly source: string;
  readonly detectedS: number;
  clearedS: number | undefined;
}

export class TrafficState {
  readonly links: TrafficLinks;
  readonly estimator: LinkStateEstimator;
  /** Every incident reported so far, oldest first. */
  readonly incidents: IncidentRecord[] = [];
  /** Start of the interval computed (ms, local wall time read as UTC) and for which plan. */
  intervalStartMs = Number.NaN;
  intervalS = 0;
  private computedFor: ServicePlan | undefined;
  private readonly detectorOfCounts: Int32Array;
  private readonly volume: Float64Array;
  private readonly occupancy: Float64Array;

  constructor(private readonly state: ServiceState) {
    const c = state.c;
    this.links = trafficLinks(c);
    this.estimator = new LinkStateEstimator(c, this.links);
    const counts = state.prepared.faults.cleaned;
    const byId = new Map(counts.detectorIds.map((id, k) => [id, k]));
    this.detectorOfCounts = Int32Array.from(c.detectorIds, (id) => byId.get(id) ?? -1);
    this.volume = new Float64Array(c.detectorIds.length);
    this.occupancy = new Float64Array(c.detectorIds.length);
    // The g-factor from every free-flow interval of the file (the night hours).
    for (let r = 0; r < counts.intervalStartMs.length; r++) this.estimator.calibrate(this.row(r));
  }

  private row(r: number): { intervalS: number; volumeVeh: Float64Array; occupancyPct: Float64Array } {
    const counts = this.state.prepared.faults.cleaned;
    const nd = counts.detectorIds.length;
    for (let d = 0; d < this.volume.length; d++) {
      const k = this.detectorOfCounts[d]!;
      this.volume[d] = k >= 0 ? counts.volumeVeh[r * nd + k]! : Number.NaN;
      this.occupancy[d] = k >= 0 ? counts.occupancyPct[r * nd + k]! : Number.NaN;
    }
    return { intervalS: counts.intervalS, volumeVeh: this.volume, occupancyPct: this.occupancy };
  }

  /** The state for the plan in force, recomputed when the plan changes. */
  current(): LinkStateEstimator {
    const plan = this.state.plan;
    if (this.computedFor === plan) return this.estimator;
    const counts = this.state.prepared.faults.cleaned;
    const total = counts.intervalStartMs.length;
    const forMs = Date.parse(`${this.state.forInterval.replace(' ', 'T')}Z`);
    let r = counts.intervalStartMs.indexOf(forMs);
    if (r < 0) r = total - 1;
    this.estimator.update(this.row(r), plan.buffer);
    this.intervalStartMs = counts.intervalStartMs[r]!;
    this.intervalS = counts.intervalS;
    this.computedFor = plan;
    return this.estimator;
  }

  link(id: string, path: string): number {
    const k = this.links.index.get(id);
    if (k === undefined) throw notFound(`${path}: no link "${id}"`);
    return k;
  }

  intersection(id: string, path: string): number {
    return this.state.intersection(id, path);
  }

  /** Adds an active incident (for the detector, once wired in); returns its id. */
  reportIncident(linkId: string, detectorId: string, source: string, detectedS: number): string {
    this.link(linkId, 'link_id');
    const incidentId = `INC-${this.incidents.length + 1}`;
    this.incidents.push({ incidentId, linkId, detectorId, source, detectedS, clearedS: undefined });
    return incidentId;
  }

  clearIncident(incidentId: string, clearedS: number): void {
    const rec = this.incidents.find((x) => x.incidentId === incidentId);
    if (!rec) throw notFound(`incident_id: no incident "${incidentId}"`);
    rec.clearedS ??= clearedS;
  }
}
