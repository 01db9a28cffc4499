/**
 * Starts the operator view. `?emulate=quest3` installs Meta's WebXR emulator (IWER) as an
 * emulated Quest 3 with tracked hands, to try the view on a desktop without a headset (and for
 * the browser tests); the device is then `window.dexbridge.device`.
 */
import { createXRStore } from '@react-three/xr';
import { createRoot, type Root } from 'react-dom/client';
import type { Mesh } from 'three';
import { takeTokenFromUrl } from '../net/token.js';
import { jointLimits, loadRobotModel } from '../robot/model.js';
import { LiveSession } from '../store/live.js';
import { createOperatorStats, OperatorApp } from './OperatorApp.js';

export async function mount(el: HTMLElement): Promise<Root> {
  const root = createRoot(el);
  root.render(<p className="loading">loading the robot…</p>);
  const params = new URLSearchParams(location.search);
  const token = takeTokenFromUrl();
  const emulated = params.get('emulate') === 'quest3';
  const exposed: Record<string, unknown> = {};
  (window as unknown as { dexbridge: unknown }).dexbridge = exposed;
  if (emulated) {
    const { XRDevice, metaQuest3 } = await import('iwer');
    const device = new XRDevice(metaQuest3);
    device.primaryInputMode = 'hand';
    device.installRuntime({ forceInstall: true });
    exposed['device'] = device;
  }
  try {
    const model = await loadRobotModel();
    const name = params.get('name') ?? 'quest';
    const session = new LiveSession({ role: token ? 'operator' : 'viewer', ...(token ? { token } : {}), name }, jointLimits(model)).start();
    // Hands only, without hand or controller models (those load from a CDN): each hand gets a
    // touch pointer on its index fingertip (poke) and a short ray (point and pinch) for the XR panel.
    // The emulator renders on the CPU (no GPU in CI): a smaller framebuffer keeps its frame rate up.
    const store = createXRStore({
      emulate: false,
      offerSession: false,
      handTracking: true,
      ...(emulated ? { frameBufferScaling: 0.5 } : {}),
      hand: { model: false, grabPointer: false, teleportPointer: false, touchPointer: true, rayPointer: true },
      controller: false,
      transientPointer: false,
      gaze: false,
      screenInput: false,
    });
    const stats = createOperatorStats();
    const xrButtons = new Map<string, Mesh>();
    const menuState: { shown: boolean; pinned: boolean; palmCos: number; head: [number, number, number] } = { shown: false, pinned: false, palmCos: Number.NaN, head: [0, 0, 0] };
    Object.assign(exposed, { session, store, stats, xrButtons, menuState });
    root.render(<OperatorApp session={session} model={model} store={store} stats={stats} emulated={emulated} ownName={name} xrButtons={xrButtons} token={token} menuState={menuState} exposed={exposed} />);
  } catch (err) {
    root.render(<p className="error">dexbridge: cannot reach the server ({(err as Error).message}).</p>);
  }
  return root;
}
