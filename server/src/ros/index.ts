/** dexbridge → ROS through rosbridge v2: message builders and the RosBridge streamer. See docs/ros.md. */
export * from './messages.js';
export {
  DEFAULT_ROS_PREFIX,
  type MeasuredJointState,
  RosBridge,
  type RosBridgeError,
  type RosBridgeOptions,
  type RosBridgeStatus,
  type RosConnectionState,
  type RosErrorCode,
  type RosImageTopic,
  type RosPublishedTopic,
  type RosReconnectOptions,
  type RosTopicTable,
  rosTopics,
} from './RosBridge.js';
export { loadRobotConfig, OUTPUT_TYPES, type OutputType, parseRobotConfig, type RobotConfig, RobotConfigError, type RobotOutput } from './robotConfig.js';
