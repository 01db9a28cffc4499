/** Starts the dashboard: the robot model, the live session (operator when a token is known, else viewer). */
import { createRoot, type Root } from 'react-dom/client';
import { saveToken, sendTokenWithApiReads, takeTokenFromUrl, takeViewerTokenFromUrl } from '../net/token.js';
import { jointLimits, loadRobotModel } from '../robot/model.js';
import { LiveSession } from '../store/live.js';
import { Dashboard } from './Dashboard.js';
import { createLiveExtras } from './extras.js';

export async function mount(el: HTMLElement): Promise<Root> {
  const root = createRoot(el);
  root.render(<p className="loading">loading the robot…</p>);
  const token = takeTokenFromUrl();
  // Beyond loopback viewers need a token too (serve prints the viewer URL with it).
  const viewerToken = takeViewerTokenFromUrl();
  const readToken = token ?? viewerToken;
  if (readToken !== undefined) sendTokenWithApiReads(readToken);
  try {
    const [model, info] = await Promise.all([loadRobotModel(), fetch('/api/info').then((r) => r.json() as Promise<{ lanUrls?: string[] }>)]);
    const session = new LiveSession({ role: token ? 'operator' : 'viewer', ...(readToken ? { token: readToken } : {}), name: 'dashboard', tracking: true }, jointLimits(model));
    const { extras } = createLiveExtras(session.client);
    session.client.onMessage((m) => {
      // A stale token: forget it and come back as a viewer.
      if (m.type === 'error' && m.code === 'AUTH_BAD_TOKEN' && session.client.welcome === undefined && token) {
        saveToken(undefined);
        location.reload();
      }
    });
    session.start();
    (window as unknown as { dexbridge?: unknown }).dexbridge = { session, extras };
    root.render(<Dashboard session={session} extras={extras} model={model} token={token} lanUrls={info.lanUrls ?? []} />);
  } catch (err) {
    root.render(<p className="error">dexbridge: cannot reach the server ({(err as Error).message}). Is `npx dexbridge serve` running?</p>);
  }
  return root;
}
