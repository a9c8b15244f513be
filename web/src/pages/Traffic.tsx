/**
 * The traffic page: the road network's traffic state as the guidance signs and
 * TrafficStateService see it (web/server/trafficApi.ts), live over server-sent
 * events: the city's and each corridor's congestion index and level, a map of
 * the road sections coloured by level (../trafficChart.ts), every section's
 * flow, speed, travel time, signal delay, index, level and arrivals on green,
 * where the state comes from and what its delays take the arrivals from, the
 * active incidents and whether detection runs, and the diversion signs'
 * messages. Every role may read it; operators and supervisors also report and
 * clear incidents here (web/server/trafficApi.ts, service/incidentActions.ts).
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { liveApi, networkApi, type NetworkMap, type TrafficLive, watchTraffic } from '../api.js';
import type { MessageKey, T } from '../i18n.js';
import { ColumnHeads, LiveStatus } from './LiveParts.js';
import { LEVEL_COLORS, levelKey, trafficOption } from '../trafficChart.js';
import { EChart } from './EChart.js';

const time = (ms: number): string => new Date(ms).toLocaleTimeString();

type Live = Extract<TrafficLive, { configured: true }>;

/** What the signal delays take the arrivals from, in the page's language (the service's own text is English). */
function progressionWords(p: Live['progressionStatus'], t: T): string {
  switch (p.kind) {
    case 'events':
      return t('pg_events', { links: p.links, of: p.ofLinks, lanes: p.lanes, events: p.events, from: time(p.fromMs), to: time(p.toMs) });
    case 'not-read':
      return t('pg_not_read', { error: p.error });
    default:
      return t(`pg_${p.kind.replace('-', '_')}` as MessageKey);
  }
}

function detectionWords(d: Live['detection'], t: T): string {
  const running = t(`dt_${d.kind}`, { s: d.sampleS, w: d.windowSamples, n: d.samples, stations: d.stations, at: d.lastSampleEndMs === null ? '—' : time(d.lastSampleEndMs) });
  return d.kind === 'off' ? running : running + calibrationWords(d.calibration, t);
}

/** Which thresholds the loops are judged against (service/incidentCalibration.ts). */
function calibrationWords(x: Live['detection']['calibration'], t: T): string {
  switch (x.kind) {
    case 'calibrated':
      return t('dc_calibrated', { h: x.hours.toFixed(1), from: new Date(x.fromMs).toLocaleString(), to: new Date(x.toMs).toLocaleString() });
    case 'too-little':
      return t('dc_too_little', { h: x.hours.toFixed(1), need: x.needHours, days: x.days });
    case 'not-read':
      return t('dc_not_read', { error: x.error });
    default:
      return t('dc_not_yet');
  }
}
const fixed = (x: number | null, digits = 0): string => (x === null ? '—' : x.toFixed(digits));

export function TrafficPage(props: { t: T; roles: readonly string[] }) {
  const { t } = props;
  const operates = props.roles.some((r) => r === 'operator' || r === 'supervisor');
  const [reportLink, setReportLink] = useState('');
  const [reportNote, setReportNote] = useState('');
  const [reportLanes, setReportLanes] = useState(0);
  const [clearNotes, setClearNotes] = useState<Readonly<Record<string, string>>>({});
  const [failed, setFailed] = useState<string | undefined>();
  const act = (p: Promise<unknown>, done: () => void): void => {
    setFailed(undefined);
    p.then(done, (e: unknown) => setFailed(e instanceof Error ? e.message : String(e)));
  };
  const [data, setData] = useState<TrafficLive | undefined>();
  const [live, setLive] = useState(false);
  const [map, setMap] = useState<NetworkMap | undefined>();

  useEffect(() => {
    networkApi.map().then(setMap, () => setMap(undefined));
    return watchTraffic(setData, setLive);
  }, []);
  const option = useMemo(() => (map && data?.configured ? trafficOption(map, data.links, t) : undefined), [map, data, t]);

  if (!data) return <p aria-busy="true">{t('loading')}</p>;
  if (!data.configured)
    return (
      <section aria-labelledby="traffic-title">
        <h1 id="traffic-title">{t('tfTitle')}</h1>
        <p role="status">{t('tfNotConfigured')}</p>
      </section>
    );
  const level = (l: (typeof data.links)[number]['level']) => (
    <>
      <span class="sq" style={{ background: LEVEL_COLORS[l ?? 'none'] }} aria-hidden="true" />
      {t(levelKey(l))}
    </>
  );
  return (
    <section aria-labelledby="traffic-title">
      <h1 id="traffic-title">{t('tfTitle')}</h1>
      <p class="summary">
        <LiveStatus t={t} live={live} />{' '}
        <span class="muted">{time(data.tMs)}</span>
      </p>
      <p class="summary" data-city-level={data.city.level ?? ''}>
        {data.city.tpi === null ? t('tfCityUnknown') : <>{t('tfCity', { tpi: data.city.tpi.toFixed(1), level: t(levelKey(data.city.level)) })} </>}
        {data.city.level !== null && <span class="sq" style={{ background: LEVEL_COLORS[data.city.level] }} aria-hidden="true" />}
      </p>
      <p class="muted" data-source={data.source}>
        {data.source === 'live'
          ? t('tfSourceLive', { s: data.intervalS, to: data.intervalStartMs === null ? '—' : time(data.intervalStartMs + data.intervalS * 1000) })
          : t('tfSourceFile', { from: data.intervalStartMs === null ? '—' : new Date(data.intervalStartMs).toISOString().slice(0, 16).replace('T', ' ') })}{' '}
        <span data-progression={data.progressionStatus.kind}>{t('tfProgression', { text: progressionWords(data.progressionStatus, t) })}</span>
      </p>
      <h2>{t('tfCorridors')}</h2>
      <ul class="corridors">
        {data.corridors.map((c) => (
          <li data-corridor={c.id} data-level={c.level ?? ''}>
            {c.name}: {fixed(c.tpi, 1)} {level(c.level)}
          </li>
        ))}
      </ul>
      {map && option && <EChart class="netmap" option={option} label={t('tfMapLabel', { name: map.name, n: data.links.filter((l) => l.from !== null).length })} attrs={{ sections: data.links.length }} />}
      <p class="muted">{t('tfMapHelp')}</p>
      <h2 id="incidents-title">{t('tfIncidents')}</h2>
      <p class="muted" data-detection={data.detection.running ? 'running' : 'off'}>
        {t('tfDetection', { status: detectionWords(data.detection, t) })}
      </p>
      {data.incidents.length === 0 ? (
        <p>{t('tfNoIncidents')}</p>
      ) : (
        <ul aria-labelledby="incidents-title">
          {data.incidents.map((x) => (
            <li class="refused-text" data-incident={x.id} data-link={x.linkId}>
              {t('tfIncident', { id: x.id, link: x.linkId, loop: x.detectorId || '—', where: x.location || x.source, since: time(x.detectedMs), conf: x.confidence.toFixed(2) })}
              {x.lanesBlocked > 0 && <> · {t('tfLanesBlockedN', { n: x.lanesBlocked })}</>}
              {x.reportedBy && <> · {t('tfReportedBy', { who: x.reportedBy })}</>}
              {x.note && <> · {x.note}</>}
              {operates && (
                <>
                  {' '}
                  <input aria-label={t('tfClearNote', { id: x.id })} maxLength={500} value={clearNotes[x.id] ?? ''} onInput={(e) => setClearNotes({ ...clearNotes, [x.id]: (e.target as HTMLInputElement).value })} />{' '}
                  <button type="button" data-clear={x.id} onClick={() => act(liveApi.clearIncident(x.id, clearNotes[x.id] ?? ''), () => setClearNotes({ ...clearNotes, [x.id]: '' }))}>
                    {t('tfClearButton')}
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      {operates && (
        <form
          class="report-incident"
          aria-label={t('tfReportTitle')}
          onSubmit={(e) => {
            e.preventDefault();
            act(liveApi.reportIncident(reportLink || data.links[0]!.id, reportLanes, reportNote), () => {
              setReportNote('');
              setReportLanes(0);
            });
          }}
        >
          <h3>{t('tfReportTitle')}</h3>
          <label>
            {t('tfReportLink')}{' '}
            <select value={reportLink || data.links[0]?.id} onChange={(e) => setReportLink((e.target as HTMLSelectElement).value)}>
              {data.links.map((l) => (
                <option value={l.id}>{l.id}</option>
              ))}
            </select>
          </label>{' '}
          <label>
            {t('tfLanesBlocked')} <input name="lanes" type="number" min={0} max={9} step={1} value={reportLanes} onInput={(e) => setReportLanes(Number((e.target as HTMLInputElement).value))} />
          </label>{' '}
          <label>
            {t('tfNote')} <input name="note" maxLength={500} value={reportNote} onInput={(e) => setReportNote((e.target as HTMLInputElement).value)} />
          </label>{' '}
          <button type="submit">{t('tfReportButton')}</button>
        </form>
      )}
      {failed && (
        <p role="alert" class="error">
          {t('tfActionFailed', { message: failed })}
        </p>
      )}
      {data.diversion && (
        <>
          <h2 id="signs-title">{t('tfSigns')}</h2>
          <ul class="signs" aria-labelledby="signs-title">
            {data.diversion.map((m) => (
              <li class="sign" data-sign={m.signId} data-diverting={m.diverting ? '1' : '0'}>
                <h3>
                  {t('tfSign', { sign: m.signId, point: m.decisionPointId })} · {m.diverting ? t('tfDiverting') : t('tfNotDiverting')}
                </h3>
                <p>{t('pkLineText', { en: m.textEn, zh: m.textZh })}</p>
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>{t('tfLinks')}</h2>
      <p class="muted">{t('tfLinksHelp')}</p>
      <div class="table-wrap">
        <table class="traffic">
          <caption>{t('tfLinks')}</caption>
          <ColumnHeads t={t} keys={['tfLink', 'tfFromTo', 'tfClass', 'tfFlow', 'tfSpeed', 'tfTravel', 'tfDelay', 'tfIndex', 'tfLevel', 'tfAog']} />
          <tbody>
            {data.links.map((l) => (
              <tr data-link={l.id} data-level={l.level ?? ''}>
                <th scope="row">{l.id}</th>
                <td>
                  {l.from ?? t('tfOutside')} → {l.to}
                </td>
                <td>{t(`lc_${l.cls}` as MessageKey)}</td>
                <td>{l.flowVehPerH.toFixed(0)}</td>
                <td>{fixed(l.travelSpeedKph)}</td>
                <td data-travel-time={l.travelTimeS.toFixed(1)}>{l.travelTimeS.toFixed(0)}</td>
                <td>{l.signalDelayS.toFixed(0)}</td>
                <td>{fixed(l.tpi, 1)}</td>
                <td>{level(l.level)}</td>
                <td>{l.arrivalOnGreen === null ? '—' : `${Math.round(100 * l.arrivalOnGreen)} %`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
