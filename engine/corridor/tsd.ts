/**
 * Time-space diagram of a coordinated corridor as a standalone SVG: time
 * across, distance up, each signal's outbound and inbound through greens
 * with their yellow and red clearance, the local cycle zero its offset is
 * measured to, and the two bands shaded with their progression speeds: the
 * picture traffic engineers judge a green wave by. Called by
 * `greenwave corridor --svg`. The font list names CJK fonts so that Chinese
 * street names render on any platform that has one.
 */
import type { CorridorPlan } from './corridorPlan.js';

const WIDTH = 1100;
const LEFT = 230;
const RIGHT = 30;
const TOP = 70;
const BOTTOM = 100;
const ROW_MIN_PX = 56;
const YELLOW = '#f2c400';
const ALL_RED = '#7f0000';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function f(x: number): string {
  return (Math.round(x * 10) / 10).toString();
}

export function renderTimeSpaceSvg(plan: CorridorPlan, cycles = 3): string {
  const members = plan.intersections;
  const lengthM = members[members.length - 1]!.positionM || 1;
  const height = TOP + BOTTOM + Math.max(420, ROW_MIN_PX * members.length);
  const plotH = height - TOP - BOTTOM;
  const horizonS = cycles * plan.cycleS;
  const x = (t: number) => LEFT + ((WIDTH - LEFT - RIGHT) * t) / horizonS;
  const y = (m: number) => TOP + plotH - (plotH * m) / lengthM;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, 'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<defs><clipPath id="plot"><rect x="${LEFT}" y="${TOP - 20}" width="${WIDTH - LEFT - RIGHT}" height="${plotH + 40}"/></clipPath></defs>`);
  const title = `${plan.name || plan.corridorId}: cycle ${plan.cycleS} s, ${plan.mode} band`;
  out.push(`<text x="${LEFT}" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`);
  out.push(
    `<text x="${LEFT}" y="44" fill="#333">outbound band ${f(plan.refined.bandOutS)} s (attainability ${Math.round(plan.attainabilityOut * 100)} %), inbound band ${f(plan.refined.bandInS)} s (${Math.round(plan.attainabilityIn * 100)} %); delay ${f(plan.refined.delaySPerVeh)} s/veh, ${Math.round(plan.refined.stopsPerVeh * 100)} stops per 100 veh</text>`,
  );

  // Time grid every 10 s, labelled every 30 s.
  for (let t = 0; t <= horizonS + 1e-9; t += 10) {
    const strong = t % 30 === 0;
    out.push(`<line x1="${f(x(t))}" y1="${TOP - 10}" x2="${f(x(t))}" y2="${TOP + plotH + 10}" stroke="${strong ? '#ccc' : '#eee'}"/>`);
    if (strong) out.push(`<text x="${f(x(t))}" y="${TOP + plotH + 28}" text-anchor="middle" fill="#555">${t}</text>`);
  }
  out.push(`<text x="${f((LEFT + WIDTH - RIGHT) / 2)}" y="${TOP + plotH + 48}" text-anchor="middle" fill="#333">time (s)</text>`);
  out.push(`<text transform="translate(16 ${f(TOP + plotH / 2)}) rotate(-90)" text-anchor="middle" fill="#333">distance along the corridor (m), outbound upward</text>`);

  // Bands first, so the signal bars draw over their edges.
  out.push('<g clip-path="url(#plot)">');
  const band = (start: number, width: number, times: number[], fill: string) => {
    if (width <= 0.05) return;
    for (let k = -1; k <= cycles + 1; k++) {
      const base = start + k * plan.cycleS;
      const lower = members.map((m, i) => `${f(x(base + times[i]!))},${f(y(m.positionM))}`);
      const upper = members.map((m, i) => `${f(x(base + times[i]! + width))},${f(y(m.positionM))}`).reverse();
      out.push(`<polygon points="${[...lower, ...upper].join(' ')}" fill="${fill}" fill-opacity="0.35" stroke="${fill}" stroke-opacity="0.8"/>`);
    }
  };
  const outTimes = [0];
  for (const t of plan.travelOutS) outTimes.push(outTimes[outTimes.length - 1]! + t);
  const inTimes = [0];
  for (const t of plan.travelInS) inTimes.push(inTimes[inTimes.length - 1]! - t);
  band(plan.bandOutStartS, plan.refined.bandOutS, outTimes, '#1f77b4');
  band(plan.bandInStartS, plan.refined.bandInS, inTimes, '#ff7f0e');
  // Progression speed of each link, written on the first whole band of each direction.
  const speedLabels = (start: number, width: number, times: number[], kph: readonly number[], fill: string) => {
    if (width <= 0.05) return;
    const base = start + Math.ceil(-start / plan.cycleS) * plan.cycleS;
    for (let k = 0; k + 1 < members.length; k++) {
      const t = base + (times[k]! + times[k + 1]!) / 2 + width / 2;
      const m = (members[k]!.positionM + members[k + 1]!.positionM) / 2;
      out.push(`<text x="${f(x(t))}" y="${f(y(m) + 4)}" text-anchor="middle" fill="${fill}" font-size="10" font-weight="bold">${f(kph[k] ?? 0)} km/h</text>`);
    }
  };
  speedLabels(plan.bandOutStartS, plan.refined.bandOutS, outTimes, plan.progressionKph.out, '#174a7c');
  speedLabels(plan.bandInStartS, plan.refined.bandInS, inTimes, plan.progressionKph.in, '#a04a00');

  // Signal bars: outbound through just above the line, inbound just below; green, then its
  // yellow and red clearance, over red; a tick at each local cycle zero (the offset's reference).
  members.forEach((m) => {
    const yy = y(m.positionM);
    const repeats = (cycles + 1) * (plan.cycleS / m.cycleS);
    for (const [green, clear, dy] of [
      [m.outGreen, m.outClearance, -7],
      [m.inGreen, m.inClearance, 3],
    ] as const) {
      out.push(`<rect x="${LEFT}" y="${f(yy + dy)}" width="${WIDTH - LEFT - RIGHT}" height="4" fill="#d62728"/>`);
      for (let k = -2; k <= repeats; k++) {
        const a = green.startS + k * m.cycleS;
        const g = a + green.lengthS;
        out.push(`<rect x="${f(x(a))}" y="${f(yy + dy)}" width="${f(x(g) - x(a))}" height="4" fill="#2ca02c"/>`);
        out.push(`<rect x="${f(x(g))}" y="${f(yy + dy)}" width="${f(x(g + clear.yellowS) - x(g))}" height="4" fill="${YELLOW}"/>`);
        if (clear.allRedS > 0) out.push(`<rect x="${f(x(g + clear.yellowS))}" y="${f(yy + dy)}" width="${f(x(g + clear.yellowS + clear.allRedS) - x(g + clear.yellowS))}" height="4" fill="${ALL_RED}"/>`);
      }
    }
    for (let k = -2; k <= repeats; k++) {
      const t = m.offsetS + k * m.cycleS;
      out.push(`<path d="M${f(x(t) - 4)},${f(yy - 13)} L${f(x(t) + 4)},${f(yy - 13)} L${f(x(t))},${f(yy - 8)} Z" fill="#222"/>`);
    }
  });
  out.push('</g>');
  members.forEach((m) => {
    const yy = y(m.positionM);
    const label = `${m.id} ${m.name.split(' ').slice(0, 4).join(' ')}`;
    out.push(`<text x="${LEFT - 8}" y="${f(yy - 2)}" text-anchor="end">${esc(label.length > 34 ? `${label.slice(0, 33)}…` : label)}</text>`);
    out.push(`<text x="${LEFT - 8}" y="${f(yy + 12)}" text-anchor="end" fill="#666" font-size="10">${f(m.positionM)} m · offset ${f(m.offsetS)} s${m.doubleCycled ? ' · half cycle' : ''}${m.leftTurnOrder !== 'fixed' ? ` · ${m.leftTurnOrder}` : ''}</text>`);
  });
  // Legend.
  const ly = height - 30;
  const legend: Array<[string, string]> = [
    ['#1f77b4', `outbound band (${plan.intersections[0]?.outboundApproach ?? ''})`],
    ['#ff7f0e', `inbound band (${plan.intersections[0]?.inboundApproach ?? ''})`],
    ['#2ca02c', 'through green (upper bar outbound, lower inbound)'],
    [YELLOW, 'yellow'],
    [ALL_RED, 'all-red'],
    ['#d62728', 'red / other phases'],
    ['#222', '▼ local cycle zero (offset reference)'],
  ];
  let lx = LEFT;
  for (const [color, text] of legend) {
    out.push(`<rect x="${lx}" y="${ly}" width="14" height="10" fill="${color}" fill-opacity="0.8"/>`);
    out.push(`<text x="${lx + 18}" y="${ly + 9}" fill="#333" font-size="11">${esc(text)}</text>`);
    lx += 18 + text.length * 6 + 20;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
