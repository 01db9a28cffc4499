/** The viewer token (`#viewer=`) goes with the page's own `/api/` requests, and nowhere else. */
import { describe, expect, it } from 'vitest';
import { sendTokenWithApiReads } from '../src/net/token.js';

function fakeWindow(): { win: { fetch: typeof fetch; location: Location }; seen: { url: string; auth: string | null }[] } {
  const seen: { url: string; auth: string | null }[] = [];
  const win = {
    location: new URL('http://robot-pc.lab:8080/') as unknown as Location,
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      seen.push({ url: String(input), auth: new Headers(init?.headers).get('authorization') });
      return new Response('{}');
    }) as typeof fetch,
  };
  return { win, seen };
}

describe('sendTokenWithApiReads', () => {
  it('adds the token to same-origin /api/ requests only, keeping an Authorization the caller set', async () => {
    const { win, seen } = fakeWindow();
    sendTokenWithApiReads('viewer-token-123', win);
    await win.fetch('/api/recordings');
    await win.fetch('/index.html');
    await win.fetch('https://elsewhere.example/api/x');
    await win.fetch('/api/recordings/x.mcap', { method: 'DELETE', headers: { authorization: 'Bearer operator' } });
    expect(seen).toEqual([
      { url: '/api/recordings', auth: 'Bearer viewer-token-123' },
      { url: '/index.html', auth: null },
      { url: 'https://elsewhere.example/api/x', auth: null },
      { url: '/api/recordings/x.mcap', auth: 'Bearer operator' },
    ]);
  });
});
