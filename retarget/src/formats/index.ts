/**
 * Hand-frame file formats: the JSON Lines format of `HandFrame`s and the import of IWER
 * action-recorder captures. See `docs/formats.md`.
 */
export {
  FormatError,
  type FormatErrorCode,
  formatHandFrameLine,
  type HandFrameFormatOptions,
  parseHandFrameLine,
  parseHandFramesJsonl,
  QUATERNION_NORM_TOLERANCE,
} from './jsonl.js';
export { type JsObject, type JsValue, parseIwerCapture, parseJsLiteralModule } from './iwer.js';
