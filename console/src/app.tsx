import { useEffect, useState } from 'preact/hooks';
import { api, type Session, useSession } from './api.js';
import { AuditPage } from './pages/audit.js';
import { CredentialsPage } from './pages/credentials.js';
import { CustomersPage } from './pages/customers.js';
import { JobsPage } from './pages/jobs.js';
import { OverviewPage } from './pages/overview.js';
import { PromotionsPage } from './pages/promotions.js';
import { SignIn } from './pages/sign-in.js';
import { WebhooksPage } from './pages/webhooks.js';

export interface PageProps {
  session: Session;
  orgId: number;
}

const PAGES = [
  ['overview', 'Overview', OverviewPage],
  ['promotions', 'Promotions', PromotionsPage],
  ['customers', 'Customers', CustomersPage],
  ['jobs', 'Jobs', JobsPage],
  ['credentials', 'Credentials', CredentialsPage],
  ['webhooks', 'Webhooks', WebhooksPage],
  ['audit', 'Audit log', AuditPage],
] as const;

const routeOf = () => location.hash.replace(/^#\/?/, '') || 'overview';

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [notice, setNotice] = useState('');
  const [route, setRoute] = useState(routeOf());
  const [orgs, setOrgs] = useState<{ id: number; name: string }[]>([]);
  const [orgId, setOrgId] = useState<number | undefined>(undefined);

  const signedOut = () => {
    setSession(null);
    setNotice('Your session has ended. Sign in again.');
  };
  useSession(session ?? null, signedOut);

  useEffect(() => {
    const onHash = () => setRoute(routeOf());
    addEventListener('hashchange', onHash);
    api<Session>('GET', '/console/api/session')
      .then(setSession)
      .catch(() => setSession(null));
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (!session) return;
    api<{ orgs: { id: number; name: string }[] }>('GET', '/console/api/orgs')
      .then(({ orgs }) => {
        setOrgs(orgs);
        setOrgId((current) => current ?? orgs[0]?.id);
      })
      .catch(() => setOrgs([]));
  }, [session]);

  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(s) => {
          setNotice('');
          setSession(s);
        }}
      />
    );
  }

  const current = PAGES.find(([path]) => path === route) ?? PAGES[0];
  const Page = current[2];
  const signOut = async () => {
    await api('DELETE', '/console/api/session').catch(() => undefined);
    setSession(null);
    setNotice('You are signed out.');
  };

  return (
    <div class="layout">
      <header class="top">
        <span class="brand">Loyalty console</span>
        <label class="org">
          Org{' '}
          <select
            value={orgId ?? ''}
            onChange={(e) => setOrgId(Number((e.target as HTMLSelectElement).value))}
          >
            {orgs.map((o) => (
              <option key={o.id} value={o.id}>
                {o.name} ({o.id})
              </option>
            ))}
          </select>
        </label>
        <span class="who">
          {session.username} · {session.role}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <nav aria-label="Main">
        <ul>
          {PAGES.map(([path, name]) => (
            <li key={path}>
              <a href={`#/${path}`} aria-current={path === current[0] ? 'page' : undefined}>
                {name}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main>
        <h1>{current[1]}</h1>
        {orgId === undefined ? (
          <p>No org is open to you yet: an admin creates one, or gives you access to one.</p>
        ) : (
          <Page key={`${current[0]}-${orgId}`} session={session} orgId={orgId} />
        )}
      </main>
    </div>
  );
}
