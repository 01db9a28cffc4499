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
