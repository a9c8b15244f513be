/**
 * Clearance intervals: ITE change (yellow) and red clearance (all-red), and
 * pedestrian clearance. Called when a network is compiled, so every phase's
 * minimum clearances are fixed before any plan is computed, and by the safety
 * validator's tests as the reference formulas.
 *
 * Sources: ITE Traffic Engineering Handbook (7th ed.), "Traffic Signal Timing
 * Manual" (FHWA-HOP-08-024) §5.4: y = t + v / (2a + 2Gg), r = (W + L) / v.
 */

export const GRAVITY_MPS2 = 9.81;

/** ITE yellow change interval in seconds, before any policy rounding or bounds. */
export function iteYellowS(speedMps: number, gradePercent: number, perceptionReactionS: number, decelerationMps2: number): number {
  return perceptionReactionS + speedMps / (2 * decelerationMps2 + 2 * (gradePercent / 100) * GRAVITY_MPS2);
}

/** ITE red clearance in seconds: time to clear the intersection width plus one vehicle length. */
export function iteAllRedS(widthM: number, vehicleLengthM: number, speedMps: number): number {
  return (widthM + vehicleLengthM) / speedMps;
}

/** Pedestrian clearance (flashing don't walk) in seconds for a crosswalk. */
export function pedestrianClearanceS(crossingLengthM: number, walkingSpeedMps: number): number {
  return crossingLengthM / walkingSpeedMps;
}

/** Rounds a duration up to the controller's 0.1 s resolution, tolerant of float noise. */
export function ceilTenth(s: number): number {
  return Math.ceil(s * 10 - 1e-9) / 10;
}

/** Rounds a duration up to a whole number of `stepS` steps (a multiple of 0.1 s), tolerant of float noise. */
export function ceilStep(s: number, stepS: number): number {
  const tenths = Math.max(1, Math.round(stepS * 10));
  return (Math.ceil((s * 10 - 1e-9) / tenths) * tenths) / 10;
}

export function kphToMps(kph: number): number {
  return kph / 3.6;
}
