/**
 * A Purdue coordination diagram as a standalone SVG, drawn like the time-space diagram
 * (engine/corridor/tsd.ts): time of day across, time in cycle (from the red start) up; per
 * cycle the green band (green start → yellow start) and the yellow above it, and each
 * arrival as a dot, green when it arrived on green. The title carries %AoG and the platoon
 * ratio. Called by `greenwave measures --svg` (cli/measures.ts).
 */
import { arrivalsOnGreen, type PcdData } from './pcd.js';

const WIDTH = 1000;
const HEIGHT = 520;
const LEFT = 70;
const RIGHT = 20;
const TOP = 60;
const BOTTOM = 60;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function f(x: number): string {
  return (Math.round(x * 10) / 10).toString();
}

export function renderPcdSvg(pcd: PcdData): string {
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push('<rect width="100%" height="100%" fill="#ffffff"/>');
  const aog = arrivalsOnGreen(pcd);
  const approach = pcd.approach ? ` ${pcd.approach}` : '';
  out.push(`<text x="${LEFT}" y="24" font-size="16" font-weight="bold">${esc(`Purdue coordination diagram: ${pcd.intersectionId} phase ${pcd.phaseId} (${pcd.phaseNumber})${approach}`)}</text>`);
  const pr = Number.isFinite(aog.platoonRatio) ? aog.platoonRatio.toFixed(2) : '–';
  const pAog = Number.isFinite(aog.percentArrivalsOnGreen) ? `${Math.round(aog.percentArrivalsOnGreen)} %` : '–';
  out.push(`<text x="${LEFT}" y="44" fill="#333">${aog.cycles} cycles, ${aog.volume} arrivals, arrivals on green ${pAog}, platoon ratio ${pr}; detector channels ${esc(pcd.detectorChannels.join(', ') || 'none')}</text>`);
  const cycles = pcd.cycles;
  if (cycles.length === 0) {
    out.push(`<text x="${LEFT}" y="${TOP + 40}">no complete cycle in the log for this phase</text>`);
    out.push('</svg>');
    return `${out.join('\n')}\n`;
  }
  const t0 = cycles[0]!.startMs;
  const t1 = cycles[cycles.length - 1]!.endMs;
  let maxCycleS = 0;
  for (const cy of cycles) maxCycleS = Math.max(maxCycleS, (cy.endMs - cy.startMs) / 1000);
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const x = (ms: number) => LEFT + (plotW * (ms - t0)) / Math.max(1, t1 - t0);
  const y = (s: number) => TOP + plotH - (plotH * s) / maxCycleS;
  // Axes and a grid every 20 s of cycle time.
  for (let s = 0; s <= maxCycleS + 1e-9; s += 20) {
    out.push(`<line x1="${LEFT}" y1="${f(y(s))}" x2="${WIDTH - RIGHT}" y2="${f(y(s))}" stroke="#eee"/>`);
    out.push(`<text x="${LEFT - 6}" y="${f(y(s) + 4)}" text-anchor="end" fill="#555">${s}</text>`);
  }
  out.push(`<text transform="translate(18 ${f(TOP + plotH / 2)}) rotate(-90)" text-anchor="middle" fill="#333">time in cycle (s), from the red start</text>`);
  const minutes = (t1 - t0) / 60_000;
  const stepMin = minutes > 120 ? 30 : minutes > 30 ? 10 : 5;
  for (let m = 0; m <= minutes + 1e-9; m += stepMin) {
    const xm = x(t0 + m * 60_000);
    out.push(`<text x="${f(xm)}" y="${TOP + plotH + 18}" text-anchor="middle" fill="#555">+${m} min</text>`);
  }
  out.push(`<text x="${f(LEFT + plotW / 2)}" y="${TOP + plotH + 40}" text-anchor="middle" fill="#333">time from ${new Date(t0).toISOString().replace('T', ' ').slice(0, 19)}</text>`);
  // Per cycle: green and yellow as a step band, width = the cycle's span on the time axis.
  for (const cy of cycles) {
    const xa = x(cy.startMs);
    const w = Math.max(0.5, x(cy.endMs) - xa);
    const g0 = (cy.greenStartMs - cy.startMs) / 1000;
    const y0 = (cy.yellowStartMs - cy.startMs) / 1000;
    const e = (cy.endMs - cy.startMs) / 1000;
    out.push(`<rect x="${f(xa)}" y="${f(y(y0))}" width="${f(w)}" height="${f(y(g0) - y(y0))}" fill="#b9e6b9"/>`);
    out.push(`<rect x="${f(xa)}" y="${f(y(e))}" width="${f(w)}" height="${f(y(y0) - y(e))}" fill="#f7e27a"/>`);
  }
  for (const cy of cycles) {
    for (const a of cy.arrivals) {
      out.push(`<circle cx="${f(x(a.timestampMs))}" cy="${f(y(a.inCycleS))}" r="1.6" fill="${a.on === 'green' ? '#1a7f1a' : a.on === 'yellow' ? '#a07800' : '#b00000'}"/>`);
    }
  }
  out.push(`<rect x="${LEFT}" y="${TOP}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
