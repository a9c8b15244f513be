/**
 * Turn bays read from a SUMO network (turnBays.ts): the extra lane of a short edge fed by a
 * single narrower edge through a pass-through node is a bay of that edge's length; an edge
 * whose lane count does not grow, or that two edges feed, has none.
 */
import { describe, expect, it } from 'vitest';
import { readSumoNet } from './netXml.js';
import { sumoTurnBays } from './turnBays.js';

const edge = (id: string, from: string, to: string, lanes: number, lengthM: number) =>
  `<edge id="${id}" from="${from}" to="${to}">${Array.from({ length: lanes }, (_, k) => `<lane id="${id}_${k}" index="${k}" speed="13.89" length="${lengthM}" shape="0,0 1,1"/>`).join('')}</edge>`;

const net = `<net>
  <junction id="A" type="traffic_light" x="0" y="0"/>
  <junction id="B" type="priority" x="-50" y="0"/>
  <junction id="W" type="dead_end" x="-400" y="0"/>
  <junction id="N" type="dead_end" x="0" y="300"/>
  <junction id="M" type="priority" x="0" y="50"/>
  <junction id="S" type="dead_end" x="0" y="-300"/>
  <junction id="P" type="priority" x="0" y="-50"/>
  ${edge('W_B', 'W', 'B', 2, 350)}
  ${edge('B_A', 'B', 'A', 3, 38.8)}
  ${edge('A_W', 'A', 'W', 2, 400)}
  ${edge('N_M', 'N', 'M', 1, 250)}
  ${edge('M_A', 'M', 'A', 1, 50)}
  ${edge('S_P', 'S', 'P', 1, 250)}
  ${edge('X_P', 'W', 'P', 1, 250)}
  ${edge('P_A', 'P', 'A', 2, 50)}
</net>`;

describe('SUMO turn bays', () => {
  it('finds the extra lane behind a pass-through node, and nothing where lanes do not grow or two edges feed', () => {
    const bays = sumoTurnBays(readSumoNet(net));
    expect([...bays]).toEqual([['B_A_2', 38.8]]);
  });
});
