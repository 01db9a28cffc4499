/** The calibration request and its ranges live with the wire protocol (the pages check inputs with them). */
export { CALIBRATE_HANDS_SECONDS, type CalibrationRequest, DIGIT_SCALE_RANGE, HAND_SCALE_RANGE, TRANSLATION_SCALE_RANGE, validateCalibration } from '../protocol/calibration.js';
