/**
 * Geodesy helpers for the transit code: the Earth radius, degree/radian
 * conversion and the great-circle (haversine) distance between two points.
 * Called by the GTFS import (interpolating untimed stops by distance) and by
 * stopsNearSignals.ts (local projection of trip paths, radius test).
 */

/** A point on the Earth in degrees (WGS 84). */
export interface LonLat {
  readonly lon: number;
  readonly lat: number;
}

/** Mean Earth radius (IUGG), m. */
export const EARTH_RADIUS_M = 6_371_008.8;
/** Radians per degree. */
export const RAD_PER_DEG = Math.PI / 180;

/** Great-circle distance, m. */
export function haversineM(a: LonLat, b: LonLat): number {
  const dLat = (b.lat - a.lat) * RAD_PER_DEG;
  const dLon = (b.lon - a.lon) * RAD_PER_DEG;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD_PER_DEG) * Math.cos(b.lat * RAD_PER_DEG) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}
