/**
 * `greenwave serve --config`: the file, GREENWAVE_* variables and options in
 * that order of precedence; bad fields exit 2 with the file and the field path.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServeArgs } from './serve.js';
import { run } from './main.js';
import { ENV_NAMES } from './serveConfig.js';
import { TOKENS_FILE } from '../test/fixtures/grpc/demo.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, body: unknown): string {
  const f = join(dir, name);
  writeFileSync(f, typeof body === 'string' ? body : JSON.stringify(body));
  return f;
}
function cli(...argv: string[]): { code: number; err: string } {
  let err = '';
  const code = run(argv, () => undefined, (s) => (err += s));
  return { code, err };
}

describe('serve --config and GREENWAVE_* variables', () => {
  test('command line over environment over file over defaults; file paths relative to the file', () => {
    const f = config('layers.json', { port: 6000, host: '0.0.0.0', insecure: true, tokens: TOKENS_FILE, at: '07:00', metricsPort: 9100, logLevel: 'warn', db: 'state/gw.db', limits: { maxInFlight: 10, maxStreams: 20 } });
    const fileOnly = parseServeArgs(['--config', f], {});
    expect(fileOnly).toMatchObject({ port: 6000, host: '0.0.0.0', insecure: true, at: '07:00', metricsPort: 9100, logLevel: 'warn', storageAt: { db: join(dir, 'state/gw.db') }, limits: { maxInFlight: 10, maxStreams: 20 } });

    const env = { GREENWAVE_PORT: '7000', GREENWAVE_LOG_LEVEL: 'debug', GREENWAVE_LIMITS: 'maxStreams=30', GREENWAVE_PG: 'postgres://x@127.0.0.1/gw' };
    const withEnv = parseServeArgs(['--config', f], env);
    expect(withEnv).toMatchObject({ port: 7000, host: '0.0.0.0', logLevel: 'debug', metricsPort: 9100, storageAt: { pg: 'postgres://x@127.0.0.1/gw' }, limits: { maxInFlight: 10, maxStreams: 30 } });

    const all = parseServeArgs(['--config', f, '--port', '8000', '--limit', 'maxInFlight=5', '--log-level', 'error', '--db', join(dir, 'cli.db')], { ...env, GREENWAVE_CONFIG: '/nonexistent.json' });
    expect(all).toMatchObject({ port: 8000, logLevel: 'error', at: '07:00', storageAt: { db: join(dir, 'cli.db') }, limits: { maxInFlight: 5, maxStreams: 30 } });

    // Without a file: GREENWAVE_CONFIG names one; with neither, the defaults.
    expect(parseServeArgs([], { GREENWAVE_CONFIG: f }).port).toBe(6000);
    expect(parseServeArgs(['--insecure', '--tokens', TOKENS_FILE], {})).toMatchObject({ port: 50051, host: '127.0.0.1', at: '08:00', logLevel: 'info', storageAt: { db: 'var/greenwave.db' } });
    expect(parseServeArgs(['--insecure', '--tokens', TOKENS_FILE], {}).metricsPort).toBeUndefined();
    expect(ENV_NAMES.tlsCert).toBe('GREENWAVE_TLS_CERT');
    expect(ENV_NAMES.resyncS).toBe('GREENWAVE_RESYNC_S');
    expect(ENV_NAMES.eventPollS).toBe('GREENWAVE_EVENT_POLL_S');
  });

  test('the event poll period: default 1 s, from the file, the environment or --event-poll-s (with --controllers)', () => {
    const base = ['--insecure', '--tokens', TOKENS_FILE, '--controllers', '127.0.0.1:1502'];
    expect(parseServeArgs(base, {}).eventPollMs).toBe(1000);
    const f = config('poll.json', { eventPollS: 2.5 });
    expect(parseServeArgs(['--config', f, ...base], {}).eventPollMs).toBe(2500);
    expect(parseServeArgs(['--config', f, ...base], { GREENWAVE_EVENT_POLL_S: '0.5' }).eventPollMs).toBe(500);
    expect(parseServeArgs(['--config', f, ...base, '--event-poll-s', '4'], { GREENWAVE_EVENT_POLL_S: '0.5' }).eventPollMs).toBe(4000);
    expect(cli('serve', '--config', config('poll-bad.json', { eventPollS: 7200 })).err).toContain('eventPollS: must be a number of seconds within [0.1, 3600]');
  });

  test('the count interval: default 30 s, from the file, the environment or --count-interval-s (with --controllers); whole seconds dividing 900', () => {
    const base = ['--insecure', '--tokens', TOKENS_FILE, '--controllers', '127.0.0.1:1502'];
    expect(ENV_NAMES.countIntervalS).toBe('GREENWAVE_COUNT_INTERVAL_S');
    expect(parseServeArgs(base, {}).countIntervalS).toBe(30);
    const f = config('counts-interval.json', { countIntervalS: 30 });
    expect(parseServeArgs(['--config', f, ...base], {}).countIntervalS).toBe(30);
    expect(parseServeArgs(['--config', f, ...base], { GREENWAVE_COUNT_INTERVAL_S: '20' }).countIntervalS).toBe(20);
    expect(parseServeArgs(['--config', f, ...base, '--count-interval-s', '300'], { GREENWAVE_COUNT_INTERVAL_S: '20' }).countIntervalS).toBe(300);
    expect(() => parseServeArgs([...base, '--count-interval-s', '45.5'], {})).toThrow(/serve: --count-interval-s 45.5 must be a whole number of seconds within \[10, 900\] that divides 900/);
    expect(() => parseServeArgs([...base, '--count-interval-s', '7'], {})).toThrow(/--count-interval-s 7 must be/);
    expect(() => parseServeArgs([...base, '--count-interval-s', '70'], {})).toThrow(/--count-interval-s 70 must be/);
    expect(cli('serve', '--config', config('counts-interval-bad.json', { countIntervalS: 1800 })).err).toContain('countIntervalS: must be a whole number of seconds within [10, 900] that divides 900');
  });

  test('the incident calibration days: default 3, from the file, the environment or --incident-calibration-days; 0 turns it off', () => {
    const base = ['--insecure', '--tokens', TOKENS_FILE, '--controllers', '127.0.0.1:1502'];
    expect(ENV_NAMES.incidentCalibrationDays).toBe('GREENWAVE_INCIDENT_CALIBRATION_DAYS');
    expect(parseServeArgs(base, {}).incidentCalibrationDays).toBe(3);
    const f = config('calibration-days.json', { incidentCalibrationDays: 7 });
    expect(parseServeArgs(['--config', f, ...base], {}).incidentCalibrationDays).toBe(7);
    expect(parseServeArgs(['--config', f, ...base], { GREENWAVE_INCIDENT_CALIBRATION_DAYS: '0' }).incidentCalibrationDays).toBe(0);
    expect(parseServeArgs(['--config', f, ...base, '--incident-calibration-days', '14'], { GREENWAVE_INCIDENT_CALIBRATION_DAYS: '0' }).incidentCalibrationDays).toBe(14);
    expect(() => parseServeArgs([...base, '--incident-calibration-days', '1.5'], {})).toThrow(/serve: --incident-calibration-days 1.5 must be a whole number of days within \[0, 60\]/);
    expect(cli('serve', '--config', config('calibration-days-bad.json', { incidentCalibrationDays: -1 })).err).toContain('incidentCalibrationDays: must be a whole number of days within [0, 60]');
  });

  test('the diversion file: relative to the config file, from GREENWAVE_DIVERSION, or --diversion', () => {
    const base = ['--insecure', '--tokens', TOKENS_FILE];
    const f = config('div.json', { diversion: 'signs/diversion.json' });
    expect(parseServeArgs(['--config', f, ...base], {}).diversion).toBe(join(dir, 'signs/diversion.json'));
    expect(parseServeArgs(['--config', f, ...base], { GREENWAVE_DIVERSION: 'env.json' }).diversion).toBe('env.json');
    expect(parseServeArgs(['--config', f, ...base, '--diversion', 'cli.json'], { GREENWAVE_DIVERSION: 'env.json' }).diversion).toBe('cli.json');
    expect(parseServeArgs(base, {}).diversion).toBeUndefined();
  });

  test('a bad field exits 2 naming the file and the field path', () => {
    const bad = config('greenwave.json', { insecure: true, tokens: TOKENS_FILE, limits: { maxInFlight: -1 } });
    const r = cli('serve', '--config', bad);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}: limits.maxInFlight: must be a positive number`);

    const several = config('several.json', { port: 'x', metricPort: 1, limits: { maxFlight: 2 }, logLevel: 'loud' });
    const s = cli('serve', '--config', several);
    expect(s.code).toBe(2);
    expect(s.err).toContain(`${several}: port: must be an integer 0..65535`);
    expect(s.err).toContain(`${several}: metricPort: unknown field`);
    expect(s.err).toContain(`${several}: limits.maxFlight: unknown field`);
    expect(s.err).toContain(`${several}: logLevel: must be one of fatal, error`);

    expect(cli('serve', '--config', config('broken.json', '{ port: 1')).err).toMatch(/broken\.json: not JSON/);
    expect(cli('serve', '--config', join(dir, 'missing.json')).code).toBe(2);
  });

  test('a bad environment variable is named in the error; existing option checks are unchanged', () => {
    expect(() => parseServeArgs(['--insecure', '--tokens', TOKENS_FILE], { GREENWAVE_METRICS_PORT: 'abc' })).toThrow(/GREENWAVE_METRICS_PORT: must be an integer 0\.\.65535/);
    expect(() => parseServeArgs(['--insecure', '--tokens', TOKENS_FILE], { GREENWAVE_LIMITS: 'maxStreams=0' })).toThrow(/GREENWAVE_LIMITS: maxStreams: must be a positive number/);
    expect(() => parseServeArgs(['--insecure', '--tokens', TOKENS_FILE], { GREENWAVE_INSECURE: 'maybe' })).toThrow(/GREENWAVE_INSECURE: must be true or false/);
    expect(() => parseServeArgs(['--insecure', '--tokens', TOKENS_FILE, '--metrics-port', '70000'], {})).toThrow(/serve: --metrics-port 70000 must be an integer 0\.\.65535/);
    expect(() => parseServeArgs(['--insecure', '--tokens', TOKENS_FILE, '--log-level', 'loud'], {})).toThrow(/serve: --log-level loud must be one of/);
    expect(() => parseServeArgs(['--insecure'], {})).toThrow(/serve: --tokens <file.json> is required/);
    expect(() => parseServeArgs(['--insecure', '--tokens', TOKENS_FILE], { GREENWAVE_EVENT_POLL_S: '0' })).toThrow(/GREENWAVE_EVENT_POLL_S: must be a number of seconds within \[0\.1, 3600\]/);
    expect(() => parseServeArgs(['--insecure', '--tokens', TOKENS_FILE, '--event-poll-s', 'soon'], {})).toThrow(/serve: --event-poll-s soon must be a number of seconds/);
    expect(() => parseServeArgs(['--tokens', TOKENS_FILE], {})).toThrow(/give --tls-cert and --tls-key, or --insecure/);
  });
});
