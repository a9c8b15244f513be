/**
 * The network page: the schematic (../networkChart.ts) with every signal's
 * live state and its detectors' health, and the same as a table, whose links
 * (like a click on a node) open the intersection page. The live state comes
 * as server-sent events, one a second (watchNetworkSignals), and the
 * detector health on the same stream whenever it changed (counts collected
 * from the controllers), or the planner's view when none were, said so.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { networkApi, type NetworkHealth, type NetworkMap, type SignalState, watchNetworkSignals } from '../api.js';
import type { T } from '../i18n.js';
import { approachLamp, HEALTH_COLORS, healthOf, healthSource, LAMP_COLORS, networkOption, signalNow, withHealth } from '../networkChart.js';
import { EChart } from './EChart.js';

const NONE: ReadonlyMap<string, SignalState> = new Map();

export function NetworkPage(props: { t: T }) {
  const { t } = props;
  const [loaded, setMap] = useState<NetworkMap | undefined>();
  const [health, setHealth] = useState<NetworkHealth | undefined>();
  const [live, setLive] = useState<ReadonlyMap<string, SignalState>>(NONE);
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    networkApi.map().then(setMap, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
    return watchNetworkSignals(
      (s) => setLive(new Map(s.signals.map((x) => [x.id, x]))),
      undefined,
      (h) => setHealth(h as NetworkHealth),
    );
  }, []);
  // The detector health as the stream last sent it (new counts collected), else as the map was read.
  const map = useMemo(() => (loaded && health ? withHealth(loaded, health) : loaded), [loaded, health]);

  const option = useMemo(() => (map ? networkOption(map, NONE, t) : undefined), [map, t]);
  const liveOption = useMemo(() => (map && live.size > 0 ? networkOption(map, live, t) : undefined), [map, live, t]);

  if (error)
    return (
      <p role="alert" class="error">
        {t('error', { message: error })}
      </p>
    );
  if (!map || !option) return <p aria-busy="true">{t('loading')}</p>;
  return (
    <section aria-labelledby="network-title">
      <h1 id="network-title">{t('networkTitle', { name: map.name })}</h1>
      <p class="summary" data-health-source={map.health.source}>
        {healthSource(map.health, t)}
      </p>
      <EChart
        class="netmap"
        option={option}
        live={liveOption}
        label={t('networkLabel', { name: map.name, n: map.intersections.length })}
        attrs={{ signals: map.intersections.length, live: live.size }}
        onClick={(e) => {
          const id = (e.data as { id?: string } | undefined)?.id;
          if (id) location.hash = `#/intersection/${encodeURIComponent(id.split(':')[0]!)}`;
        }}
      />
      <p class="muted">{t('networkHelp')}</p>
      <div class="table-wrap">
        <table class="signals">
          <caption>{t('signalsTable')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('signal')}</th>
              <th scope="col">{t('greenNow')}</th>
              <th scope="col">{t('approaches')}</th>
              <th scope="col">{t('detectors')}</th>
            </tr>
          </thead>
          <tbody>
            {map.intersections.map((ix) => {
              const s = live.get(ix.id);
              const health = healthOf(ix);
              return (
                <tr data-signal={ix.id}>
                  <th scope="row">
                    <a href={`#/intersection/${encodeURIComponent(ix.id)}`}>
                      {ix.id} {ix.name}
                    </a>
                  </th>
                  <td data-live={s ? '1' : undefined}>{s ? signalNow(s, t) : '…'}</td>
                  <td>
                    {ix.approaches.map((a) => {
                      const lamp = approachLamp(s, a);
                      return (
                        <span class="arm">
                          <span class="sq" style={{ background: LAMP_COLORS[lamp] }} aria-hidden="true" />
                          {a} {t(`lm_${lamp}`)}{' '}
                        </span>
                      );
                    })}
                  </td>
                  <td>
                    <span class="sq" style={{ background: HEALTH_COLORS[health] }} aria-hidden="true" /> {t(`hl_${health}`)} · {t('detectorsSummary', { n: ix.detectors, bad: ix.unhealthyDetectors, repaired: ix.substitutedDetectors })}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
