/**
 * Worker thread entry for the incident detector's calibration (./incidentCalibration.ts
 * IncidentCalibrator starts it through engine/pool): compiles the service's network text once
 * (workerData) for the loops' layout, then each job is the incident-free series read from the
 * stored counts (`encodeSeries`) and the answer is every station's thresholds
 * (`calibrateStations`). Days of 30 s samples take a few hundred milliseconds of CPU, which
 * the gRPC event loop should not wait for. Loaded as compiled JS from dist/.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { serveJobs } from '../engine/pool/worker-host.js';
import { compileNetworkText } from '../engine/network/load.js';
import { incidentLayout, type IncidentLayout } from '../engine/traffic/incidentLayout.js';
import { calibrateStations, decodeSeries } from './incidentCalibration.js';

let layout: IncidentLayout | undefined;

try {
  // Background work: the gRPC event loop gets the CPU first (as the Replan worker does).
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 10);
} catch {
  // Not Linux, or not permitted.
}

serveJobs((input, data) => {
  const { networkPath, networkText } = data as { networkPath: string; networkText: string };
  layout ??= incidentLayout(compileNetworkText(networkText, networkPath));
  const { sampleS, series } = decodeSeries(input, layout.detectorIds.length);
  const { thresholds, runThresholds } = calibrateStations(layout, sampleS, series);
  const out = new Float64Array(2 * layout.stationCount);
  out.set(thresholds, 0);
  out.set(runThresholds, layout.stationCount);
  return out;
});
