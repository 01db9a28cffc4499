/** The control loop lives in `control/` (the bridge is transport); re-exported for existing imports. */
export * from '../control/ControlLoop.js';
