/**
 * The operator console's page: login, then the corridor, plans and audit
 * pages, routed by the URL's hash (#/corridor/<id>, #/plans[/<planId>],
 * #/audit, #/network, #/intersection/<id>), and the live pages (#/traffic, #/priority, #/parking, #/locks), in zh-CN or
 * en (./i18n.ts). Bundled by esbuild
 * (scripts/build-web.mjs) into dist/web/static and served by
 * `greenwave serve --web-port` (web/server/http.ts).
 */
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, api, type NetworkInfo, type SessionInfo } from './api.js';
import { initialLang, LANGS, type Lang, saveLang, type T, translator } from './i18n.js';
import { AuditPage } from './pages/Audit.js';
import { CorridorPage } from './pages/Corridor.js';
import { PlansPage } from './pages/Plans.js';
import { PriorityPage } from './pages/Priority.js';
import { ParkingPage } from './pages/Parking.js';
import { TrafficPage } from './pages/Traffic.js';
import { LocksPage } from './pages/Locks.js';
import { NetworkPage } from './pages/Network.js';
import { IntersectionPage } from './pages/Intersection.js';

type Route =
  | { page: 'corridor'; id: string | undefined }
  | { page: 'plans'; planId: number | undefined }
  | { page: 'audit' }
  | { page: 'network' }
  | { page: 'intersection'; id: string | undefined }
  | { page: LivePage };
/** The live pages (traffic state, bus priority, parking, locks and schedule): every role reads them. */
type LivePage = 'traffic' | 'priority' | 'parking' | 'locks';
const LIVE_PAGES: readonly LivePage[] = ['traffic', 'priority', 'parking', 'locks'];

function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'plans') return { page: 'plans', planId: parts[1] ? Number(parts[1]) : undefined };
  if (parts[0] === 'audit') return { page: 'audit' };
  if (LIVE_PAGES.includes(parts[0] as LivePage)) return { page: parts[0] as LivePage };
  if (parts[0] === 'network') return { page: 'network' };
  if (parts[0] === 'intersection') return { page: 'intersection', id: parts[1] || undefined };
  return { page: 'corridor', id: parts[0] === 'corridor' && parts[1] ? parts[1] : undefined };
}

function Login(props: { t: T; onLogin: (s: SessionInfo) => void }) {
  const { t } = props;
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      props.onLogin(await api.login(user, password));
    } catch (err: unknown) {
      setError(err instanceof ApiError && err.code === 'LOCKED' ? t('loginLocked') : err instanceof ApiError && err.status === 401 ? t('loginRefused') : String(err));
    } finally {
      setBusy(false);
      setPassword('');
    }
  };
  return (
    <form class="login" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
      <h1 id="login-title">{t('loginTitle')}</h1>
      <label>
        {t('user')}
        <input name="user" autocomplete="username" required value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        {t('password')}
        <input name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
      </label>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {t('loginButton')}
      </button>
    </form>
  );
}

function App() {
  const [lang, setLang] = useState<Lang>(initialLang);
  const t = useMemo(() => translator(lang), [lang]);
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [network, setNetwork] = useState<NetworkInfo | undefined>();
  const [route, setRoute] = useState<Route>(() => parseRoute(location.hash));

  useEffect(() => {
    saveLang(lang);
    document.title = translator(lang)('appTitle');
  }, [lang]);
  useEffect(() => {
    const on = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    api.session().then((s) => setSession(s ?? null), () => setSession(null));
    return () => removeEventListener('hashchange', on);
  }, []);
  // The network (and which plan is in force) is read again on each page change: a deploy elsewhere changes it.
  useEffect(() => {
    if (session) api.network().then(setNetwork, () => setNetwork(undefined));
  }, [session, route]);

  const langPicker = (
    <label class="lang">
      {t('language')}{' '}
      <select value={lang} onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}>
        {LANGS.map((l) => (
          <option value={l.id} lang={l.id}>
            {l.label}
          </option>
        ))}
      </select>
    </label>
  );

  if (session === undefined) return <p aria-busy="true">{t('loading')}</p>;
  if (session === null)
    return (
      <main id="main">
        <header class="top">
          <span class="brand">{t('appTitle')}</span>
          {langPicker}
        </header>
        <Login t={t} onLogin={setSession} />
      </main>
    );

  const logout = async (): Promise<void> => {
    await api.logout().catch(() => undefined);
    setSession(null);
    setNetwork(undefined);
  };
  const nav: [Route['page'], string, string][] = [
    ['corridor', `#/corridor/${route.page === 'corridor' && route.id ? route.id : (network?.corridors[0]?.id ?? '')}`, t('navCorridor')],
    ['plans', '#/plans', t('navPlans')],
    ...(session.roles.some((r) => r === 'operator' || r === 'supervisor') ? [['audit', '#/audit', t('navAudit')] as [Route['page'], string, string]] : []),
    ['traffic', '#/traffic', t('navTraffic')],
    ['priority', '#/priority', t('navPriority')],
    ['parking', '#/parking', t('navParking')],
    ['locks', '#/locks', t('navLocks')],
  ];
  nav.unshift(['network', '#/network', t('navNetwork')]);
  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        {t('skipToMain')}
      </button>
      <header class="top">
        <span class="brand">{t('appTitle')}</span>
        <nav aria-label={t('appTitle')}>
          {nav.map(([page, href, label]) => (
            <a href={href} aria-current={route.page === page ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who">{t('signedInAs', { user: session.user, roles: session.roles.join(', ') })}</span>
        {langPicker}
        <button type="button" onClick={() => void logout()}>
          {t('logout')}
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {!network ? (
          <p aria-busy="true">{t('loading')}</p>
        ) : route.page === 'corridor' ? (
          <CorridorPage t={t} corridorId={route.id} network={network} roles={session.roles} />
        ) : route.page === 'network' ? (
          <NetworkPage t={t} />
        ) : route.page === 'intersection' ? (
          <IntersectionPage t={t} id={route.id} network={network} />
        ) : route.page === 'plans' ? (
          <PlansPage t={t} planId={route.planId} roles={session.roles} />
        ) : route.page === 'audit' ? (
          <AuditPage t={t} />
        ) : route.page === 'traffic' ? (
          <TrafficPage t={t} roles={session.roles} />
        ) : route.page === 'priority' ? (
          <PriorityPage t={t} />
        ) : route.page === 'parking' ? (
          <ParkingPage t={t} />
        ) : (
          <LocksPage t={t} />
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
