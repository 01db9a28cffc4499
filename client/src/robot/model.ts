/** The rig's URDF from the server (`/api/urdf`), parsed once per page. */
import { parseUrdf, type RobotModel } from '@dexbridge/urdf';

let pending: Promise<RobotModel> | undefined;

export function loadRobotModel(url = '/api/urdf'): Promise<RobotModel> {
  pending ??= fetch(url).then(async (r) => {
    if (!r.ok) throw new Error(`GET ${url}: HTTP ${r.status}`);
    return parseUrdf(await r.text());
  });
  return pending;
}

/** Joint limits by name (for the near-limit warnings). */
export function jointLimits(model: RobotModel): Map<string, { lower: number; upper: number }> {
  const m = new Map<string, { lower: number; upper: number }>();
  for (const j of model.joints) if (j.limit) m.set(j.name, { lower: j.limit.lower, upper: j.limit.upper });
  return m;
}
