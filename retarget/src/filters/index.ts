export {
  type FilterVector,
  ONE_EURO_HAND_POSITION_DEFAULTS,
  OneEuroFilter,
  type OneEuroOptions,
  oneEuroAlpha,
} from './OneEuroFilter.js';
export { ONE_EURO_ROTATION_DEFAULTS, QuaternionOneEuroFilter } from './QuaternionOneEuro.js';
export { VelocityLimiter, type VelocityLimiterOptions } from './VelocityLimiter.js';
