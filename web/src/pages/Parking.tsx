/**
 * The parking page: each car park's capacity, vacant spaces, occupancy, trend
 * and status (open, full, closed, unknown, or a stale feed), and what each
 * guidance sign shows now, live over server-sent events (web/server/parkingApi.ts).
 * Without `serve --parking` it says parking guidance is not configured. Names
 * and sign texts follow the page's language. Every role may read it.
 */
import { useEffect, useState } from 'preact/hooks';
import { type ParkingLive, watchParking } from '../api.js';
import type { MessageKey, T } from '../i18n.js';
import { ColumnHeads, LiveStatus } from './LiveParts.js';

const time = (ms: number | null): string => (ms === null ? '—' : new Date(ms).toLocaleTimeString());

export function ParkingPage(props: { t: T }) {
  const { t } = props;
  const [data, setData] = useState<ParkingLive | undefined>();
  const [live, setLive] = useState(false);

  useEffect(() => watchParking(setData, setLive), []);

  return (
    <section aria-labelledby="parking-title">
      <h1 id="parking-title">{t('pkTitle')}</h1>
      {!data ? (
        <p aria-busy="true">{t('loading')}</p>
      ) : !data.configured ? (
        <p role="status" data-parking="off">
          {t('pkNotConfigured')}
        </p>
      ) : (
        <>
          <p class="summary">
            <LiveStatus t={t} live={live} />{' '}
            <span class="muted">{time(data.tMs)}</span>
          </p>
          <div class="table-wrap">
            <table class="parking">
              <caption>{t('pkCarParks')}</caption>
              <ColumnHeads t={t} keys={['pkCarParks', 'pkCapacity', 'pkVacant', 'pkOccupancy', 'pkTrend', 'pkStatus', 'pkAsOf']} />
              <tbody>
                {data.carParks.map((p) => {
                  const name = t('pkName', { en: p.nameEn, zh: p.nameZh });
                  return (
                    <tr data-car-park={p.id} data-status={p.status}>
                      <th scope="row">
                        {name} <span class="muted">{p.id}</span>
                      </th>
                      <td>{p.capacity}</td>
                      <td data-vacant={p.vacant ?? ''}>{p.vacant ?? '—'}</td>
                      <td>
                        {p.occupancyPct === null ? (
                          '—'
                        ) : (
                          <>
                            <meter min={0} max={100} low={70} high={90} optimum={50} value={p.occupancyPct} aria-label={t('pkOccupancyOf', { name })} /> {Math.round(p.occupancyPct)} %
                          </>
                        )}
                      </td>
                      <td>{t(`pt_${p.trend}` as MessageKey)}</td>
                      <td class={p.status === 'stale' || p.status === 'unknown' ? 'refused-text' : ''}>{t(`pst_${p.status}` as MessageKey)}</td>
                      <td>{p.statusTimeMs === null ? t('pkNever') : time(p.statusTimeMs)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <h2 id="signs-title">{t('pkSigns')}</h2>
          {data.signs.length === 0 ? (
            <p>{t('pkNoSigns')}</p>
          ) : (
            <ul class="signs" aria-labelledby="signs-title">
              {data.signs.map((s) => (
                <li class="sign" data-sign={s.signId} data-state={s.state}>
                  <h3>
                    {t('pkSign', { id: s.signId })} · {t('pkSignState', { state: t(`pss_${s.state}` as MessageKey) })}
                  </h3>
                  <dl>
                    {s.lines.map((l) => (
                      <>
                        <dt>{t('pkName', { en: l.labelEn, zh: l.labelZh })}</dt>
                        <dt>
                          <span aria-hidden="true">{t(`pd_${l.direction}` as MessageKey)}</span>
                          <span class="sr-only">{t(`pdw_${l.direction}` as MessageKey)}</span>
                        </dt>
                        <dd class={l.kind} data-kind={l.kind}>
                          {t('pkLineText', { en: l.textEn, zh: l.textZh })}
                          {l.partial && <span class="muted"> ({t('pkPartial')})</span>}
                        </dd>
                      </>
                    ))}
                  </dl>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
