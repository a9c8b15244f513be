/**
 * Absolute safety floors and ceilings: the limits no network file, default or
 * controller command may loosen. A file may tighten them (a longer minimum
 * green, a slower walking speed, a shorter maximum cycle), never the reverse.
 * They are enforced three times, on purpose:
 *  - network validation refuses a file that asks for less (schema.ts, with
 *    the field path, the floor and its source in the message);
 *  - compilation clamps to them (phaseTiming.ts, compile.ts), so a network
 *    object built without validation still carries no looser number;
 *  - the one safety validator (validator.ts) checks every plan against the
 *    stricter of the compiled requirement and these limits, so a plan from
 *    anywhere (a file, a Modbus commit, an SNMP set, a bus-priority override)
 *    cannot pass below them.
 *
 * Sources:
 *  - MUTCD 2009 §4D.26: the yellow change interval should last about 3 to 6 s;
 *    red clearance is optional and, when used, set by engineering practice.
 *  - GB 14886-2016 (道路交通信号灯设置与安装规范): yellow at least 3 s.
 *  - ITE Traffic Engineering Handbook / FHWA Signal Timing Manual
 *    (FHWA-HOP-08-024) §5.4, kinematic change interval y = t + v / (2a + 2Gg)
 *    with t = 1.0 s and a = 10 ft/s² (3.05 m/s²), red clearance
 *    r = (W + L) / v with L = 20 ft (6.1 m). A file may assume a slower driver,
 *    gentler braking or a longer vehicle, never the opposite.
 *  - FHWA-HOP-08-024 ch. 5: minimum green for driver expectancy; issue 11
 *    sets 4 s as the absolute floor.
 *  - MUTCD 2009 §4E.06: walk at least 7 s, reducible to 4 s; pedestrian
 *    clearance = crossing length / walking speed, 3.5 ft/s (1.07 m/s) today,
 *    4 ft/s (1.2 m/s) in older editions: 1.2 m/s is the fastest accepted.
 *  - Cycle 300 s: the longest cycle this engine will time (issue 11);
 *    controllers may declare less (NTCIP 1202 patternCycleTime is 0..255 s).
 */
export const SAFETY_FLOORS = Object.freeze({
  /** Shortest yellow change interval, s (MUTCD 4D.26, GB 14886). */
  minYellowS: 3,
  /** Shortest vehicle green, s (driver expectancy, FHWA-HOP-08-024 ch. 5). */
  minVehicleGreenS: 4,
  /** Shortest pedestrian walk, s (MUTCD 4E.06). */
  minWalkS: 4,
  /** Fastest walking speed for pedestrian clearance, m/s (MUTCD 4E.06, 4 ft/s). */
  maxPedestrianSpeedMps: 1.2,
  /** Longest cycle, s. */
  maxCycleS: 300,
  /** Shortest perception-reaction time in the ITE yellow formula, s. */
  minPerceptionReactionS: 1.0,
  /** Hardest deceleration in the ITE yellow formula, m/s² (10 ft/s²). */
  maxDecelerationMps2: 3.05,
  /** Shortest design vehicle in the ITE red-clearance formula, m (20 ft). */
  minVehicleLengthM: 6.1,
  /**
   * Plans are timed within the network's maxCycleS. A transition or priority cycle (offset
   * correction, bus priority, emergency preemption) may stretch one cycle to this multiple of
   * it, never past the absolute maxCycleS; anything longer is refused by the validator.
   */
  transitionCycleFactor: 1.5,
});

/** Source of each limit, for messages and docs. */
export const FLOOR_SOURCES = Object.freeze({
  minYellowS: 'MUTCD 4D.26, GB 14886',
  minVehicleGreenS: 'FHWA Signal Timing Manual ch. 5, issue 11',
  minWalkS: 'MUTCD 4E.06',
  maxPedestrianSpeedMps: 'MUTCD 4E.06',
  maxCycleS: 'issue 11',
  minPerceptionReactionS: 'ITE kinematic yellow, FHWA-HOP-08-024 §5.4',
  maxDecelerationMps2: 'ITE kinematic yellow, FHWA-HOP-08-024 §5.4',
  minVehicleLengthM: 'ITE red clearance, FHWA-HOP-08-024 §5.4',
});

export type FloorName = Exclude<keyof typeof SAFETY_FLOORS, 'transitionCycleFactor'>;

const UNIT: Record<FloorName, string> = {
  minYellowS: 's',
  minVehicleGreenS: 's',
  minWalkS: 's',
  maxPedestrianSpeedMps: 'm/s',
  maxCycleS: 's',
  minPerceptionReactionS: 's',
  maxDecelerationMps2: 'm/s²',
  minVehicleLengthM: 'm',
};

/** "0.1 s is below the absolute floor 3 s (MUTCD 4D.26, GB 14886)"; the field path is added by the caller. */
export function floorMessage(name: FloorName, value: unknown): string {
  const limit = SAFETY_FLOORS[name];
  const unit = UNIT[name];
  const ceiling = name.startsWith('max');
  return `${String(value)} ${unit} is ${ceiling ? 'above the absolute ceiling' : 'below the absolute floor'} ${limit} ${unit} (${FLOOR_SOURCES[name]})`;
}

/**
 * The longest cycle the validator accepts at an intersection whose network maxCycleS is
 * `networkMaxCycleS`: transitions may stretch it by transitionCycleFactor, never past 300 s.
 */
export function cycleCeilingS(networkMaxCycleS: number): number {
  const m = Number.isFinite(networkMaxCycleS) && networkMaxCycleS > 0 ? networkMaxCycleS : SAFETY_FLOORS.maxCycleS;
  return Math.min(SAFETY_FLOORS.maxCycleS, m * SAFETY_FLOORS.transitionCycleFactor);
}

/** Clamps a network's (possibly unvalidated) max cycle to the absolute ceiling, whole seconds. */
export function clampMaxCycleS(maxCycleS: number): number {
  return Number.isFinite(maxCycleS) && maxCycleS > 0 ? Math.min(SAFETY_FLOORS.maxCycleS, Math.max(1, Math.floor(maxCycleS + 1e-9))) : SAFETY_FLOORS.maxCycleS;
}
