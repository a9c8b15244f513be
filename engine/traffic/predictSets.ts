/**
 * The fixed split of the prediction benchmark and its test (bench/traffic/predict.ts,
 * engine/traffic/predict.test.ts): parameters are fitted on the tuning seeds only, and the
 * held-out seeds are only ever scored.
 */
export const TUNING_SEEDS = [11, 12, 13] as const;
export const HELD_OUT_SEEDS = [101, 102, 103] as const;
export const WEEKS = 8;
