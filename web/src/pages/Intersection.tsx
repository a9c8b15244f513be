/**
 * The intersection page: the running plan's phases and timing with a live
 * ring-barrier diagram (a cursor at the signal's time in cycle, from the SPaT
 * stream); the signal performance measures of the stored controller events
 * (Purdue coordination diagram, split monitor, split failures, and a table of
 * every phase), or why there are none; and the detectors' health from the
 * counts collected from the controllers lately (updated on the stream as they
 * arrive), else as the planner saw it, with what it substituted, and why.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { type IntersectionHealth, type IntersectionInfo, type Measures, type NetworkInfo, networkApi, type SignalState, watchNetworkSignals } from '../api.js';
import type { T } from '../i18n.js';
import { cursorOption, occupancyOption, pcdOption, ringBarrierOption, splitOption } from '../intersectionCharts.js';
import { EChart } from './EChart.js';
import { healthSource, signalNow } from '../networkChart.js';

const WINDOWS_H = [1, 4, 24] as const;
const r1 = (x: number | null): string => (x === null ? '—' : String(Math.round(x * 10) / 10));
const clock = (ms: number): string => new Date(ms).toLocaleString();

export function IntersectionPage(props: { t: T; id: string | undefined; network: NetworkInfo }) {
  const { t, network } = props;
  const id = props.id ?? network.intersections[0]?.id ?? '';
  const [info, setInfo] = useState<IntersectionInfo | undefined>();
  const [live, setLive] = useState<SignalState | undefined>();
  const [windowH, setWindowH] = useState<number>(1);
  const [measures, setMeasures] = useState<Measures | undefined>();
  const [phaseId, setPhaseId] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    setInfo(undefined);
    setLive(undefined);
    setError(undefined);
    networkApi.intersection(id).then(setInfo, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
    return watchNetworkSignals(
      (s) => setLive(s.signals[0]),
      id,
      // New detector health (counts collected from the controllers) replaces what the page read.
      (h) => setInfo((cur) => (cur && cur.id === id ? { ...cur, health: h as IntersectionHealth } : cur)),
    );
  }, [id]);

  useEffect(() => {
    setMeasures(undefined);
    // Counted back from the service's clock (which a test or a replay may run apart from this browser's).
    networkApi.measures(id, windowH * 3600).then(
      (m) => {
        setMeasures(m);
        if (m.available) setPhaseId((cur) => (m.phases.some((p) => p.phaseId === cur) ? cur : [...m.phases].sort((a, b) => b.arrivals - a.arrivals)[0]?.phaseId));
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [id, windowH]);

  const option = useMemo(() => (info ? ringBarrierOption(info, t) : undefined), [info, t]);
  const cursor = useMemo(() => (info && live ? cursorOption(live.cycleTimeS, info.cycleS, t) : undefined), [info, live, t]);
  const phase = measures?.available ? measures.phases.find((p) => p.phaseId === phaseId) : undefined;
  const charts = useMemo(() => (phase && measures?.available ? { pcd: pcdOption(phase, t), split: splitOption(phase, t), occ: occupancyOption(phase, measures.thresholdPct, t) } : undefined), [phase, measures, t]);

  if (error)
    return (
      <p role="alert" class="error">
        {t('error', { message: error })}
      </p>
    );
  if (!info || !option) return <p aria-busy="true">{t('loading')}</p>;
  const green = new Set(live?.greenPhaseIds ?? []);
  const collected = info.health.source === 'collected';
  return (
    <section aria-labelledby="ix-title">
      <h1 id="ix-title">{t('intersectionTitle', { id: info.id, name: info.name })}</h1>
      <div class="actions">
        <a href="#/network">{t('backToNetwork')}</a>
        <label>
          {t('intersectionPick')}{' '}
          <select value={id} onChange={(e) => (location.hash = `#/intersection/${encodeURIComponent((e.target as HTMLSelectElement).value)}`)}>
            {network.intersections.map((x) => (
              <option value={x.id}>
                {x.id} {x.name}
              </option>
            ))}
          </select>
        </label>
        {info.corridors.map((k) => (
          <a href={`#/corridor/${encodeURIComponent(k)}`}>{t('corridorLink', { id: k })}</a>
        ))}
      </div>
      <p class="summary">
        {t('planInForce', { plan: info.planId === null ? t('serviceOwnPlan', { at: info.forInterval }) : t('planNumber', { id: info.planId }) })} · {t('cycleOf', { s: r1(info.cycleS) })} · {t('offsetIs', { s: r1(info.offsetS) })} · {t(info.phasing === 'stages' ? 'phasingStages' : 'phasingRingBarrier')}
      </p>
      <p class="summary" data-now={live ? live.cycleTimeS.toFixed(1) : undefined}>
        {live ? signalNow(live, t) : '…'}
        {live?.priorityActive ? ` · ${t('priorityActive')}` : ''}
      </p>
      <h2>{t('ringBarrierTitle')}</h2>
      <EChart class="rb" option={option} live={cursor} label={t('ringBarrierLabel', { id: info.id, rows: info.phasing === 'stages' ? 1 : info.rings, cycle: r1(info.cycleS) })} attrs={{ phases: info.phases.filter((p) => !p.onDemand).length, now: live ? live.cycleTimeS.toFixed(1) : '' }} />
      <div class="table-wrap">
        <table class="phases">
          <caption>{t('phasesTable')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('phase')}</th>
              <th scope="col">{t('ringBarrier')}</th>
              <th scope="col">{t('movements')}</th>
              <th scope="col">{t('fieldStart')}</th>
              <th scope="col">{t('fieldGreen')}</th>
              <th scope="col">{t('yellow')}</th>
              <th scope="col">{t('allRed')}</th>
              <th scope="col">{t('minMaxGreen')}</th>
            </tr>
          </thead>
          <tbody>
            {info.phases.map((p) => (
              <tr data-green={green.has(p.phaseId) ? '1' : undefined}>
                <th scope="row">
                  {p.phaseId} {green.has(p.phaseId) && <span class="badge">{t('ms_green')}</span>} {p.onDemand && <span class="muted">{t('onDemand')}</span>}
                </th>
                <td>
                  {p.ring} / {p.barrier}
                </td>
                <td>
                  {p.protected.join(' ')} {p.permitted.length > 0 && <span class="muted">({p.permitted.join(' ')})</span>}
                </td>
                <td>{r1(p.startS)}</td>
                <td>{r1(p.greenS)}</td>
                <td>{r1(p.yellowS)}</td>
                <td>{r1(p.allRedS)}</td>
                <td>
                  {r1(p.minGreenS)}–{r1(p.maxGreenS)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>{t('measuresTitle')}</h2>
      <div class="actions">
        <label>
          {t('measureWindow')}{' '}
          <select value={String(windowH)} onChange={(e) => setWindowH(Number((e.target as HTMLSelectElement).value))}>
            {WINDOWS_H.map((h) => (
              <option value={String(h)}>{t('lastHours', { h })}</option>
            ))}
          </select>
        </label>
      </div>
      {!measures ? (
        <p aria-busy="true">{t('loading')}</p>
      ) : !measures.available ? (
        <p class="notice" data-measures={measures.reason}>
          {measures.reason === 'NO_STORAGE' ? t('noStorage') : t('noEvents', { id: info.id, from: clock(measures.fromMs), to: clock(measures.toMs) })}
        </p>
      ) : (
        <div data-measures="available">
          <p class="summary">{t('measuresSummary', { events: measures.events, from: clock(measures.fromMs), to: clock(measures.toMs) })}</p>
          <div class="table-wrap">
            <table class="measures">
              <caption>{t('measuresTable')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('phase')}</th>
                  <th scope="col">{t('cyclesCol')}</th>
                  <th scope="col">{t('aogCol')}</th>
                  <th scope="col">{t('platoonCol')}</th>
                  <th scope="col">{t('delayCol')}</th>
                  <th scope="col">{t('splitFailuresCol')}</th>
                  <th scope="col">{t('splitCol')}</th>
                  <th scope="col">{t('terminationsCol')}</th>
                </tr>
              </thead>
              <tbody>
                {measures.phases.map((p) => (
                  <tr aria-current={p.phaseId === phaseId ? 'true' : undefined}>
                    <th scope="row">
                      {p.phaseId} <span class="muted">#{p.phaseNumber}</span>
                    </th>
                    <td>{p.cycles}</td>
                    <td>
                      {r1(p.percentArrivalsOnGreen)} <span class="muted">({p.arrivals})</span>
                    </td>
                    <td>{r1(p.platoonRatio)}</td>
                    <td>{r1(p.delaySPerVeh)}</td>
                    <td>
                      {p.splitFailures} / {p.splitFailureCycles} {p.percentSplitFailures !== null && <span class="muted">({r1(p.percentSplitFailures)} %)</span>}
                    </td>
                    <td>
                      {r1(p.meanSplitS)} <span class="muted">/ {r1(p.plannedSplitS)}</span>
                    </td>
                    <td>{t('terminations', { gap: p.terminations.gapOut, max: p.terminations.maxOut, force: p.terminations.forceOff, none: p.terminations.unreported })}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="actions">
            <label>
              {t('chartPhase')}{' '}
              <select value={phaseId} onChange={(e) => setPhaseId((e.target as HTMLSelectElement).value)}>
                {measures.phases.map((p) => (
                  <option value={p.phaseId}>
                    {p.phaseId} (#{p.phaseNumber})
                  </option>
                ))}
              </select>
            </label>
          </div>
          {phase && charts && (
            <div class="charts">
              <div>
                <h3>{t('pcdTitle', { phase: phase.phaseId })}</h3>
                <EChart class="measure" option={charts.pcd} label={t('pcdLabel', { phase: phase.phaseId, n: phase.arrivals, aog: r1(phase.percentArrivalsOnGreen) })} />
              </div>
              <div>
                <h3>{t('splitTitle', { phase: phase.phaseId })}</h3>
                <EChart class="measure" option={charts.split} label={t('splitLabel', { phase: phase.phaseId, n: phase.splits.length, mean: r1(phase.meanSplitS), planned: r1(phase.plannedSplitS) })} />
              </div>
              <div>
                <h3>{t('sfTitle', { phase: phase.phaseId })}</h3>
                {phase.occupancy.length === 0 ? <p class="notice">{t('noStopLine')}</p> : <EChart class="measure" option={charts.occ} label={t('sfLabel', { phase: phase.phaseId, n: phase.splitFailures, cycles: phase.splitFailureCycles })} />}
              </div>
            </div>
          )}
        </div>
      )}

      <h2>{t('detectorsTitle')}</h2>
      <p class="summary" data-health-source={info.health.source}>
        {healthSource(info.health, t)}
      </p>
      {info.health.fallback && (
        <p class="refused" data-fallback="1">
          {t('fallbackNote', { healthy: info.health.fallback.healthyDetectors, n: info.health.fallback.detectors, predicted: r1(info.health.fallback.predictedVeh), used: r1(info.health.fallback.fallbackVeh) })}
        </p>
      )}
      {info.health.detectors.length === 0 ? (
        <p>{t('noDetectors')}</p>
      ) : (
        <div class="table-wrap">
          <table class="detectors">
            <caption>{t(collected ? 'detectorsTableLive' : 'detectorsTable')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('detector')}</th>
                <th scope="col">{t('laneCol')}</th>
                <th scope="col">{t('state')}</th>
                <th scope="col">{t(collected ? 'faultsCollected' : 'faultsInFile')}</th>
                <th scope="col">{t(collected ? 'substitutedLiveCol' : 'substitutedCol')}</th>
              </tr>
            </thead>
            <tbody>
              {info.health.detectors.map((d) => {
                const faults = Object.entries(d.faultsInFile).filter(([, n]) => n > 0);
                return (
                  <tr data-healthy={d.healthy ? '1' : '0'}>
                    <th scope="row">{d.id}</th>
                    <td>
                      {d.approach} · {d.laneId} · {t(d.kind === 'stopLine' ? 'stopLine' : 'advance')}
                    </td>
                    <td class={d.healthy ? 'ok' : 'error'}>{t(d.healthy ? 'healthy' : 'faulty')}</td>
                    <td>{faults.length === 0 ? '—' : faults.map(([k, n]) => t('faultCount', { kind: t(`flt_${k as 'zero'}`), n })).join(', ')}</td>
                    <td>
                      {d.substituted.length === 0
                        ? '—'
                        : d.substituted.map((s) => (
                            <div>
                              {t('substitution', { at: s.intervalStart.slice(11), kind: t(`flt_${s.fault}`), observed: s.observedVeh === null ? '—' : r1(s.observedVeh), used: r1(s.substitutedVeh), method: t(`mth_${s.method}`) })}
                            </div>
                          ))}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
