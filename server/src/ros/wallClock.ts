/**
 * Header stamps for ROS: the control loop's monotonic time of an instant mapped to the wall clock
 * (epoch ms, the clock rospy and rclcpp compare against).
 */

/** How many recent instants keep the offset they were first stamped with. */
const REMEMBERED_INSTANTS = 4;

/**
 * A function from a loop time (ms, the loop's monotonic clock) to its wall-clock time (ms since
 * the epoch): the loop time plus the offset between the two clocks, re-read at every call
 * (`dateNow() − loopNow()`) and kept while it stays within 2 ms (`Date.now()` ticks in whole
 * milliseconds), so an NTP correction shows at once. An instant stamped again (the joint state
 * and the trajectories of one control step) gets the stamp it got first, even when the offset
 * moved between the calls: on a busy machine the loop runs late and the offset drifts, and the
 * two messages of a step once carried different stamps.
 */
export function wallClockStamper(loopNow: () => number, dateNow: () => number = Date.now): (loopMs: number) => number {
  let offsetMs = dateNow() - loopNow();
  const instants = new Float64Array(REMEMBERED_INSTANTS).fill(Number.NaN);
  const stamps = new Float64Array(REMEMBERED_INSTANTS);
  let next = 0;
  return (loopMs: number): number => {
    for (let i = 0; i < REMEMBERED_INSTANTS; i++) if (instants[i] === loopMs) return stamps[i]!;
    const offset = dateNow() - loopNow();
    if (Math.abs(offset - offsetMs) > 2) offsetMs = offset;
    const stamp = loopMs + offsetMs;
    instants[next] = loopMs;
    stamps[next] = stamp;
    next = (next + 1) % REMEMBERED_INSTANTS;
    return stamp;
  };
}
