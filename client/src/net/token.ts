/**
 * The operator token a page was opened with (`…#token=…`, as the server prints it). The part
 * after `#` never reaches the server's logs; the page keeps it for this browser and removes it
 * from the address bar so it does not show on a shared screen.
 */
const KEY = 'dexbridge.operatorToken';

export function takeTokenFromUrl(loc: Location = location, storage: Storage = localStorage): string | undefined {
  const m = /(?:^#|&)token=([^&]*)/.exec(loc.hash);
  if (m) {
    const token = decodeURIComponent(m[1]!);
    if (token) storage.setItem(KEY, token);
    else storage.removeItem(KEY);
    history.replaceState(null, '', loc.pathname + loc.search);
  }
  return storage.getItem(KEY) ?? undefined;
}

export function saveToken(token: string | undefined, storage: Storage = localStorage): void {
  if (token) storage.setItem(KEY, token);
  else storage.removeItem(KEY);
}

/** The header the changing HTTP routes want (`Authorization: Bearer <operator token>`); none without a token. */
export const authHeaders = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

const VIEWER_KEY = 'dexbridge.viewerToken';

/**
 * The viewer token a page was opened with (`…#viewer=…`, as `serve` prints it when bound beyond
 * loopback), kept for this browser like the operator token and removed from the address bar.
 */
export function takeViewerTokenFromUrl(loc: Location = location, storage: Storage = localStorage): string | undefined {
  const m = /(?:^#|&)viewer=([^&]*)/.exec(loc.hash);
  if (m) {
    const token = decodeURIComponent(m[1]!);
    if (token) storage.setItem(VIEWER_KEY, token);
    else storage.removeItem(VIEWER_KEY);
    history.replaceState(null, '', loc.pathname + loc.search);
  }
  return storage.getItem(VIEWER_KEY) ?? undefined;
}

/**
 * Makes every same-origin `/api/` request of this page carry `token` (unless it sets its own
 * Authorization): when viewers need a token, reading the URDF, the info and the recordings does too.
 */
export function sendTokenWithApiReads(token: string, win: { fetch: typeof fetch; location: Location } = window): void {
  const original = win.fetch.bind(win);
  win.fetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, win.location.href);
    if (url.origin !== win.location.origin || !url.pathname.startsWith('/api/')) return original(input, init);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    return original(input, { ...init, headers });
  };
}
