/** The calibration request and its ranges live with the wire protocol (the pages check inputs with them). */
export { type CalibrationRequest, HAND_SCALE_RANGE, TRANSLATION_SCALE_RANGE, validateCalibration } from '../protocol/calibration.js';
