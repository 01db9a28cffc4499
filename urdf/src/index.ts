export type * from './model.js';
export { parseUrdf } from './parseUrdf.js';
export { UrdfError, type UrdfErrorCode } from './UrdfError.js';
export { allUrdfFiles, armUrdf, handUrdf, rigUrdf, type RigSide } from './rig/buildRig.js';
export * as rigSpec from './rig/rigSpec.js';
