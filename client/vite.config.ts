import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * One page, two views: `/` is the dashboard, `/?role=operator` the Quest operator view (each a
 * lazily loaded chunk, so the headset never downloads the dashboard's plotting code).
 * `npm run dev` proxies the API and the WebSocket to a bridge on :8080 (DEXBRIDGE_URL to change).
 */
const bridge = process.env['DEXBRIDGE_URL'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  resolve: {
    // The workspace packages are read from their TypeScript sources.
    conditions: ['source'],
    // iwer and @react-three/xr must share the page's three, or every XR frame throws.
    dedupe: ['three', 'react', 'react-dom'],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    manifest: true,
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: {
      '/api': bridge,
      '/healthz': bridge,
      '/ws': { target: bridge.replace(/^http/, 'ws'), ws: true },
    },
  },
});
