import { ACTION_DIM } from '../actionSchema.js';
import { ArmIk, type IkSolveOptions, type IkStatus } from '../arm/ArmIk.js';
import { ArmMapping, type ArmMappingOptions } from '../arm/ArmMapping.js';
import { OneEuroFilter, type OneEuroOptions } from '../filters/OneEuroFilter.js';
import { VelocityLimiter } from '../filters/VelocityLimiter.js';
import { XR_HAND_LENGTH, XR_JOINT_COUNT, XR_JOINT_STRIDE, XR_TIPS, type HandFrame } from '../handFrame.js';
import { createHandTargets, type HandSolveOptions, type HandSolveResult, type HandSolveStatus, HandSolver, type HandTargets } from '../hand/HandSolver.js';
import { type HandCheck, HumanHandMapper, type HumanHandMapperOptions } from '../hand/HumanHandMapper.js';
import { norm3 } from '../math/linalg.js';
import { multiply, POSE_STRIDE, poseError } from '../math/pose.js';
import type { Rig, RigSideModel } from '../rig.js';
import { ARM_DOF, HAND_ACTIVE_DOF, SIDES, type Side } from '../robotNames.js';
import { ACTIVE_DIM, activeArmOffset, activeHandOffset, STATE_DIM, StateAssembler } from './assemble.js';

export { ACTIVE_DIM, STATE_DIM };

/**
 * FR3 home ("ready") posture of the right arm, rad; the left arm uses its mirror image
 * (−q1, q2, −q3, q4, −q5, q6, −q7). The arm's redundancy is pulled toward it.
 */
export const FR3_HOME_RIGHT = Object.freeze([0, -Math.PI / 4, 0, (-3 * Math.PI) / 4, 0, Math.PI / 2, Math.PI / 4]);
const MIRROR_SIGNS = [-1, 1, -1, 1, -1, 1, -1] as const;
export const armHome = (side: Side): number[] => FR3_HOME_RIGHT.map((q, i) => (side === 'right' ? q : q * MIRROR_SIGNS[i]!));

export type SideHold = 'none' | 'missing' | HandCheck;

/** Rig-frame pose of a side's hand base with the arm at joints q (12 numbers, a new array). */
function handPoseAt(model: RigSideModel, q: ArrayLike<number>): Float64Array {
  const out = new Float64Array(12);
  const tree = model.armTree;
  multiply(out, 0, model.armBaseInRig, 0, tree.fk(q), (tree.linkCount - 1) * POSE_STRIDE);
  return multiply(out, 0, out, 0, model.handInFlange, 0);
}

/**
 * How the commanded arm (after the velocity and acceleration limits) stands against its flange
 * target, measured by forward kinematics of the commanded joints, not the solver's residual:
 * `converged` within {@link ARM_CONVERGED_POSITION_M} and {@link ARM_CONVERGED_ROTATION_RAD};
 * `limited` when it is not there yet but on its way: the frame's solution from where the arm is
 * reaches the target's position (a joint range holds back only the orientation, or the limiter's
 * acceleration), or the trust region's bound stops it short (`ArmIk.boundHoldsPosition`: the arm
 * follows as fast as its velocity limits allow); `failed` when the solution misses the position by
 * more than {@link ARM_CONVERGED_POSITION_M} inside the trust region (out of reach from where the
 * arm is: a local optimum or a joint limit).
 */
export type ArmCommandStatus = 'converged' | 'limited' | 'failed';

/** The commanded flange is at its target when within this distance, m. */
export const ARM_CONVERGED_POSITION_M = 1e-3;
/** …and within this rotation, rad (0.57°). */
export const ARM_CONVERGED_ROTATION_RAD = 0.01;
/** Time step the tracking trust region assumes when a frame's own is not known, s (90 Hz). */
const MIN_STEP_S = 1 / 90;
/**
 * Trust region of a tracking IK solve: each arm joint may end at most this many times its
 * velocity limit × the frame's time step from the previous command. 1: the solve looks for the
 * best pose the arm can reach in this frame at its velocity limits, so the limiter only adds the
 * acceleration limit and never cuts joints one by one off a solution further away (which bent the
 * flange's path: 3 gave a higher flange error on 13–15 of 15 variants of the Quest session), and
 * the solution never leaves the arm's IK branch.
 */
export const ARM_STEP_FACTOR = 1;
/**
 * Rotation weight of tracking solves, m/rad: 1 rad of orientation counts as 20 mm of position, so
 * the position wins when both cannot be met (a wrist twisted past joint 7's range keeps its
 * flange position within 5 mm; with 0.1 it drifts 20 mm).
 */
const TRACKING_ROTATION_WEIGHT = 0.02;

/** Per-side status of the last frame. Objects are reused frame to frame: copy to keep. */
export interface SideStatus {
  /** Whether this frame's hand was used. */
  tracked: boolean;
  /** Why the side holds its last good output ('none' when tracked). */
  hold: SideHold;
  /** Whether the arm follows the operator (clutch engaged). */
  engaged: boolean;
  hand: { status: HandSolveStatus | 'held'; costM2: number; tipErrorRmsM: number; iterations: number; cold: boolean };
  /**
   * The arm: `status`, `residual`, `positionErrorM`, `rotationErrorRad` and `iterations` are the
   * IK solve's own (its solution against the target); `command` and the `command…` errors are
   * the commanded joints' flange against the target (see {@link ArmCommandStatus}), NaN-free only
   * when the arm was solved this frame.
   */
  arm: {
    status: IkStatus | 'held' | 'not_engaged';
    residual: number;
    positionErrorM: number;
    rotationErrorRad: number;
    iterations: number;
    command: ArmCommandStatus | 'held' | 'not_engaged';
    commandPositionErrorM: number;
    commandRotationErrorRad: number;
  };
  /** Human pad-to-pad gaps thumb→index, middle, ring, little, m (last tracked frame). */
  humanGapsM: Float64Array;
  /** Robot pad-to-pad gaps for the same pairs on the commanded hand, m. */
  robotGapsM: Float64Array;
  /**
   * Distance of each commanded robot fingertip from the mapped human fingertip (before the soft
   * abduction turns a finger into the robot's range) in the hand frame, m, thumb first (last
   * tracked frame).
   */
  fingertipErrorM: Float64Array;
  /** Whether the velocity/acceleration limiter changed any of this side's commanded joints. */
  limited: boolean;
}

/** Called after each hand solve, for diagnostics and benchmarks (not needed in normal use). */
export type HandSolveObserver = (side: Side, targets: HandTargets, qPrev: Float64Array, q: Float64Array, result: HandSolveResult, cold: boolean) => void;

export interface RetargetOutput {
  tMs: number;
  /** The 56 joint positions (state order). */
  q: Float64Array;
  /** The 88-dim action. */
  action: Float32Array;
  status: Record<Side, SideStatus>;
}

/** Options of one side, overriding the shared `hand` and `arm` options. */
export interface RetargeterSideOptions {
  readonly hand?: HumanHandMapperOptions;
  readonly arm?: ArmMappingOptions;
}

export interface RetargeterOptions {
  /** Hand mapping for both sides (per-side values in `sides` override these). */
  readonly hand?: HumanHandMapperOptions;
  /** Arm mapping for both sides (per-side values in `sides` override these). */
  readonly arm?: ArmMappingOptions;
  /** Per-side overrides, e.g. each hand's own scale or each arm's calibration offset. */
  readonly sides?: Partial<Record<Side, RetargeterSideOptions>>;
  /** Engage the arms at the first tracked frame of each side (clutch, robot at home). Default true. */
  readonly autoEngage?: boolean;
  /** One Euro parameters for the human joint positions (m). Default: the filter's hand defaults. */
  readonly filter?: OneEuroOptions | false;
  /**
   * Iteration cap of each warm hand solve. Default 8: every Quest and synthetic figure is the same
   * with 6, 8 or 16 (a warm solve converges in 3–4), and the cap bounds the frame-time tail.
   */
  readonly handIterations?: number;
  /**
   * Keep neighbouring long fingers' whole phalanx capsules apart (segment to segment), not only
   * their tips and PIPs. Default true: on the Quest session the overlap share is 0.07 % with it
   * and 0.42 % without; it costs about 7 % of the frame's CPU time, which the hand solver's
   * envelope factorisation more than saves.
   */
  readonly handCapsuleSeparation?: boolean;
  /** Regularisation toward the previous hand solution, m²/rad². Default 2e-6. */
  readonly handRegularization?: number;
  /** Iteration cap of each warm arm IK solve. Default 12. */
  readonly armIterations?: number;
  /** Arm joint acceleration limit, rad/s² (Franka: 10). Default 10; `false` for none. */
  readonly armMaxAcceleration?: number | false;
  /**
   * A tracking gap up to this long is a dropout, not a loss: no filter reset, no cold solve, no
   * clutch re-anchoring. Default 100 ms.
   */
  readonly dropoutMs?: number;
  /**
   * With `autoEngage`, an arm re-anchors its clutch only after a tracking loss longer than this.
   * After a shorter gap it keeps its anchor and continues, from where it is, toward where the
   * operator's hand is now (at its rate limits), so a brief loss does not shift the operator's
   * path. Default 500 ms; at least `dropoutMs`.
   */
  readonly reanchorMs?: number;
  /** Initial arm joints per side (7 each); default `armHome(side)`. */
  readonly armStart?: Partial<Record<Side, ArrayLike<number>>>;
  /** Sees every hand solve (diagnostics, benchmarks). */
  readonly onHandSolve?: HandSolveObserver;
}

interface SideState {
  readonly model: RigSideModel;
  readonly mapper: HumanHandMapper;
  readonly mapping: ArmMapping;
  readonly handSolver: HandSolver;
  readonly ik: ArmIk;
  readonly filter: OneEuroFilter | undefined;
  readonly targets: HandTargets;
  readonly joints: Float64Array;
  readonly positions: Float64Array;
  readonly humanPose: Float64Array;
  readonly flangeTarget: Float64Array;
  readonly handQ: Float64Array;
  /** The previous frame's hand solution, the regularisation anchor. */
  readonly handPrev: Float64Array;
  readonly armQ: Float64Array;
  readonly status: SideStatus;
  /** Active-vector offsets of this side's arm and hand. */
  readonly armOffset: number;
  readonly handOffset: number;
  /** View of this side's arm in the commanded vector (made once: `subarray` allocates). */
  readonly armCommanded: Float64Array;
  readonly handSolveOptions: HandSolveOptions;
  readonly armSolveOptions: IkSolveOptions;
  /** Trust region of this frame's tracking solve, rad (filled per frame; see {@link ARM_STEP_FACTOR}). */
  readonly armLower: Float64Array;
  readonly armUpper: Float64Array;
  /**
   * Whether the arm was solved this frame (its command status is measured after the limiter);
   * until this frame's solve, whether the previous frame's was, with no re-anchor since (the
   * feed-forward's condition).
   */
  armSolved: boolean;
  /** Whether this frame's solution misses the target's position because the trust region stopped it (on its way, not out of reach). */
  armHeldByTrustRegion: boolean;
  /** The last solved frame's flange position (its velocity counts when `armSolved` says that frame was the previous one). */
  readonly armPrevFlange: Float64Array;
  /** How fast the arm's target moves in joint space (see {@link Retargeter.process}), rad/s. */
  readonly armTargetVelocity: Float64Array;
  wasTracked: boolean;
  /** Time of the last tracked frame, ms. */
  lastTrackedMs: number;
  everTracked: boolean;
}

function newStatus(): SideStatus {
  return {
    tracked: false, hold: 'missing', engaged: false,
    hand: { status: 'held', costM2: Number.NaN, tipErrorRmsM: Number.NaN, iterations: 0, cold: false },
    arm: {
      status: 'not_engaged', residual: Number.NaN, positionErrorM: Number.NaN, rotationErrorRad: Number.NaN, iterations: 0,
      command: 'not_engaged', commandPositionErrorM: Number.NaN, commandRotationErrorRad: Number.NaN,
    },
    humanGapsM: new Float64Array(4).fill(Number.NaN), robotGapsM: new Float64Array(4), fingertipErrorM: new Float64Array(5).fill(Number.NaN), limited: false,
  };
}

/**
 * The stateful retargeting pipeline: one `HandFrame` in, the 56 joint positions and the 88-dim
 * action out. Per side: check the hand (a missing or implausible hand holds that side's last good
 * output), filter joint positions (One Euro), map to fingertip targets and solve the hand
 * warm-started from the previous frame (multi-start after tracking loss), map the wrist to a
 * flange target and solve the arm IK warm-started with a rest posture, then limit joint
 * velocity (and arm acceleration) over the frame's time step.
 *
 * Allocation-free per frame after construction. Frames must come in time order; a frame whose
 * time does not advance holds the output.
 */
export class Retargeter {
  readonly rig: Rig;
  readonly output: RetargetOutput;
  private readonly sides: Record<Side, SideState>;
  private readonly limiter: VelocityLimiter;
  private readonly target = new Float64Array(ACTIVE_DIM);
  /** How fast each target moves (the arms' feed-forward; 0 for the hands, which have no acceleration limit). */
  private readonly targetVelocity = new Float64Array(ACTIVE_DIM);
  private readonly commanded = new Float64Array(ACTIVE_DIM);
  private readonly activeLower = new Float64Array(ACTIVE_DIM);
  private readonly activeUpper = new Float64Array(ACTIVE_DIM);
  private readonly handPose = new Float64Array(12);
  private readonly assembler: StateAssembler;
  private readonly autoEngage: boolean;
  private readonly handIterations: number;
  private readonly handRegularization: number;
  private readonly armIterations: number;
  private readonly onHandSolve: HandSolveObserver | undefined;
  private readonly dropoutMs: number;
  private readonly reanchorMs: number;
  private readonly err6 = new Float64Array(6);
  /** The flange target's linear velocity this frame (scratch of the arm feed-forward), m/s. */
  private readonly flangeVelocity = new Float64Array(3);
  private lastTMs = Number.NaN;

  constructor(rig: Rig, options: RetargeterOptions = {}) {
    this.rig = rig;
    this.assembler = new StateAssembler(rig);
    this.autoEngage = options.autoEngage ?? true;
    this.handIterations = options.handIterations ?? 8;
    this.handRegularization = options.handRegularization ?? 2e-6;
    this.armIterations = options.armIterations ?? 12;
    this.onHandSolve = options.onHandSolve;
    this.dropoutMs = options.dropoutMs ?? 100;
    if (!(this.dropoutMs >= 0 && Number.isFinite(this.dropoutMs))) throw new RangeError(`Retargeter: dropoutMs must be a finite number ≥ 0, got ${this.dropoutMs}`);
    this.reanchorMs = options.reanchorMs ?? Math.max(500, this.dropoutMs);
    if (!(this.reanchorMs >= this.dropoutMs && Number.isFinite(this.reanchorMs))) {
      throw new RangeError(`Retargeter: reanchorMs must be a finite number ≥ dropoutMs (${this.dropoutMs}), got ${this.reanchorMs}`);
    }
    for (const [k, v] of [['handIterations', this.handIterations], ['armIterations', this.armIterations]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`Retargeter: ${k} must be a positive integer, got ${v}`);
    }
    if (!(this.handRegularization >= 0)) throw new RangeError(`Retargeter: handRegularization must be ≥ 0, got ${this.handRegularization}`);
    const make = (side: Side, armOffset: number, handOffset: number): SideState => {
      const model = rig.sides[side];
      const start = options.armStart?.[side] ?? armHome(side);
      if (start.length !== ARM_DOF) throw new RangeError(`Retargeter: armStart.${side} must have ${ARM_DOF} joints, got ${start.length}`);
      const armQ = Float64Array.from(start);
      model.armTree.clamp(armQ);
      const armLower = new Float64Array(ARM_DOF), armUpper = new Float64Array(ARM_DOF);
      return {
        model,
        mapper: new HumanHandMapper(model, { ...options.hand, ...options.sides?.[side]?.hand }),
        mapping: new ArmMapping(model, { robotHandPose: handPoseAt(model, armQ), ...options.arm, ...options.sides?.[side]?.arm }),
        handSolver: new HandSolver(model.handTree, model.tipLinks, {
          midLinks: model.midLinks, tipRadii: model.tipRadii, midRadii: model.midRadii,
          ...(options.handCapsuleSeparation !== false ? { segmentLinks: model.segmentLinks, segmentRadii: model.segmentRadii } : {}),
        }),
        ik: new ArmIk(model.armTree, model.armTree.linkNames[model.armTree.linkCount - 1]!),
        filter: options.filter === false ? undefined : new OneEuroFilter(XR_JOINT_COUNT * 3, options.filter),
        targets: createHandTargets(),
        joints: new Float64Array(XR_HAND_LENGTH),
        positions: new Float64Array(XR_JOINT_COUNT * 3),
        humanPose: new Float64Array(12),
        flangeTarget: new Float64Array(12),
        handQ: model.handTree.clamp(new Float64Array(HAND_ACTIVE_DOF)),
        handPrev: new Float64Array(HAND_ACTIVE_DOF),
        armQ,
        status: newStatus(),
        armOffset,
        handOffset,
        armCommanded: this.commanded.subarray(armOffset, armOffset + ARM_DOF),
        handSolveOptions: { maxIterations: this.handIterations, regularization: this.handRegularization },
        armSolveOptions: {
          maxIterations: this.armIterations, maxRestarts: 0, tolerance: 1e-6, rest: Float64Array.from(armHome(side)), restGain: 0.05,
          rotationWeight: TRACKING_ROTATION_WEIGHT, lowerBound: armLower, upperBound: armUpper,
        },
        armLower,
        armUpper,
        armSolved: false,
        armHeldByTrustRegion: false,
        armPrevFlange: new Float64Array(3),
        armTargetVelocity: new Float64Array(ARM_DOF),
        wasTracked: false,
        lastTrackedMs: Number.NEGATIVE_INFINITY,
        everTracked: false,
      };
    };
    this.sides = { left: make('left', activeArmOffset('left'), activeHandOffset('left')), right: make('right', activeArmOffset('right'), activeHandOffset('right')) };
    const vmax = new Float64Array(ACTIVE_DIM);
    for (const side of SIDES) {
      const s = this.sides[side];
      this.activeLower.set(s.model.armTree.lower, s.armOffset);
      this.activeUpper.set(s.model.armTree.upper, s.armOffset);
      this.activeLower.set(s.model.handTree.lower, s.handOffset);
      this.activeUpper.set(s.model.handTree.upper, s.handOffset);
    }
    const amax = new Float64Array(ACTIVE_DIM).fill(Number.POSITIVE_INFINITY);
    const armAcc = options.armMaxAcceleration ?? 10;
    for (const side of SIDES) {
      const s = this.sides[side];
      vmax.set(s.model.armTree.maxVelocity, s.armOffset);
      vmax.set(s.model.handTree.maxVelocity, s.handOffset);
      if (armAcc !== false) amax.fill(armAcc, s.armOffset, s.armOffset + ARM_DOF);
    }
    this.limiter = new VelocityLimiter(vmax, { ...(armAcc === false ? {} : { maxAcceleration: amax }), lower: this.activeLower, upper: this.activeUpper });
    this.output = {
      tMs: Number.NaN,
      q: new Float64Array(STATE_DIM),
      action: new Float32Array(ACTION_DIM),
      status: { left: this.sides.left.status, right: this.sides.right.status },
    };
    for (const side of SIDES) this.writeTarget(this.sides[side]);
    this.limiter.reset(this.target);
    this.commanded.set(this.target);
    this.assemble();
  }

  /** The human hand scale applied on a side (NaN until measured). */
  handScale(side: Side): number {
    return this.sides[side].mapper.scale;
  }

  /**
   * Sets the operator's hand scale (calibration): one number for both hands or one per side.
   * Takes effect at the next frame.
   */
  setHandScale(scale: number | Partial<Record<Side, number>>): void {
    for (let k = 0; k < SIDES.length; k++) {
      const side = SIDES[k]!;
      const v = typeof scale === 'number' ? scale : scale[side];
      if (v !== undefined) this.sides[side].mapper.setScale(v);
    }
  }

  /**
   * Sets each digit's robot/human length ratio per side (calibration, e.g. from `calibrateHand`):
   * 5 numbers per side, thumb first. Takes effect at the next frame.
   * @throws RangeError when a side does not have 5 positive numbers.
   */
  setDigitScales(scales: Partial<Record<Side, ArrayLike<number>>>): void {
    for (let k = 0; k < SIDES.length; k++) {
      const v = scales[SIDES[k]!];
      if (v !== undefined) this.sides[SIDES[k]!].mapper.setDigitScales(v);
    }
  }

  /** Sets the arms' translation scale (calibration); takes effect from the next engage on. */
  setTranslationScale(scale: number): void {
    for (const side of SIDES) this.sides[side].mapping.setTranslationScale(scale);
  }

  /** Whether a side's arm follows the operator. */
  engaged(side: Side): boolean {
    return this.sides[side].mapping.engaged;
  }

  /**
   * Engages a side's arm at the next tracked frame: clutch anchors there, so the robot does not
   * jump. An arm already engaged stays as it is. (With `autoEngage`, sides engage at their first
   * tracked frame and re-anchor after a tracking loss longer than `reanchorMs`.)
   */
  engage(side: Side): void {
    this.pendingEngage[side] = true;
  }

  /** Disengages a side's arm: it holds where it is; the hand keeps following. */
  disengage(side: Side): void {
    const s = this.sides[side];
    s.mapping.disengage();
    this.pendingEngage[side] = false;
    s.armQ.set(s.armCommanded);
  }

  private readonly pendingEngage: Record<Side, boolean> = { left: false, right: false };

  /**
   * Tells the retargeting where a side's arm really is (7 joints, rad; e.g. the robot's measured
   * or gated joints), at rest: its output holds there and the next engage anchors the clutch
   * there. Disengages that side. Allocation-free.
   * @throws RangeError unless `q7` is 7 finite numbers.
   */
  seedArm(side: Side, q7: ArrayLike<number>): void {
    if (q7.length !== ARM_DOF) throw new RangeError(`Retargeter: seedArm needs ${ARM_DOF} joints, got ${q7.length}`);
    for (let i = 0; i < ARM_DOF; i++) if (!Number.isFinite(q7[i])) throw new RangeError(`Retargeter: seedArm joint ${i} is not finite: ${q7[i]}`);
    const s = this.sides[side];
    this.disengage(side);
    for (let i = 0; i < ARM_DOF; i++) {
      const v = Math.max(this.activeLower[s.armOffset + i]!, Math.min(this.activeUpper[s.armOffset + i]!, q7[i]!));
      s.armCommanded[i] = v;
      s.armQ[i] = v;
      this.target[s.armOffset + i] = v;
    }
    this.limiter.reset(this.commanded);
    this.assemble();
  }

  /**
   * Writes the operator's 25 joints of the last processed frame as the hand solver saw them
   * (filtered positions), mapped into the robot hand base frame (`<side>_hand_base`), m, as
   * {@link HumanHandMapper} maps them: the thumb and the metacarpals scaled from the wrist and
   * moved onto the robot's knuckle line, each long finger from the robot's knuckle with its own
   * length ratio. `out` receives 25 × xyz (75 numbers). The tip joints equal
   * {@link fingertipTargets} except for a finger splayed into the soft abduction's compressed
   * zone, whose targets are turned into the robot's range. Allocation-free.
   * @returns false (and `out` untouched) when the side was not used in the last frame.
   * @throws RangeError if `out` holds fewer than 75 numbers.
   */
  humanJointsInHand(side: Side, out: Float32Array | Float64Array): boolean {
    if (out.length < XR_JOINT_COUNT * 3) throw new RangeError(`Retargeter: humanJointsInHand needs ${XR_JOINT_COUNT * 3} numbers, got ${out.length}`);
    const s = this.sides[side];
    if (!s.status.tracked) return false;
    const m = s.mapper.mapped;
    for (let i = 0; i < XR_JOINT_COUNT * 3; i++) out[i] = m[i]!;
    return true;
  }

  /**
   * The operator's 25 joints of a side's last tracked frame as the solver saw them (filtered
   * positions, 25 × 8 in the input's reference space). The shared array: copy to keep.
   */
  humanJoints(side: Side): Readonly<Float64Array> {
    return this.sides[side].joints;
  }

  /**
   * The fingertip targets of a side's last hand solve, in the hand base frame, m (5 × xyz, thumb
   * first), with the pinch terms: `HandTargets.tips` is what the hand solver aimed at. The shared
   * object, overwritten by the next tracked frame; meaningful for this frame only when
   * `output.status[side].tracked`.
   */
  fingertipTargets(side: Side): Readonly<HandTargets> {
    return this.sides[side].targets;
  }

  /**
   * The arm IK's solution of a side's last solved frame (7 joints, rad): what the limiter moves
   * the commanded arm toward. The shared array: copy to keep.
   */
  armSolution(side: Side): Readonly<Float64Array> {
    return this.sides[side].armQ;
  }

  /**
   * The flange target of a side's last engaged, tracked frame, in the arm base frame
   * (`<side>_arm_link0`, 12 numbers: row-major rotation, then translation in m). Meaningful for
   * this frame only when `output.status[side].tracked && output.status[side].engaged`.
   */
  armFlangeTarget(side: Side): Readonly<Float64Array> {
    return this.sides[side].flangeTarget;
  }

  /** Processes one frame; returns the shared output object (overwritten by the next call). */
  process(frame: HandFrame): RetargetOutput {
    const t = frame.tMs;
    const dtS = Number.isFinite(this.lastTMs) ? (t - this.lastTMs) / 1000 : 0;
    const advances = !Number.isFinite(this.lastTMs) || dtS > 0;
    if (advances && Number.isFinite(t)) {
      for (let k = 0; k < SIDES.length; k++) this.processSide(this.sides[SIDES[k]!], frame[SIDES[k]!], t, dtS);
    } else {
      for (let k = 0; k < SIDES.length; k++) this.holdSide(this.sides[SIDES[k]!], frame[SIDES[k]!] ? 'none' : 'missing');
    }
    for (let k = 0; k < SIDES.length; k++) this.writeTarget(this.sides[SIDES[k]!]);
    // Velocity, acceleration and position limits together: a joint brakes in time to stop at its
    // position limit, so a target there (or a feed-forward past it) never stops it at once.
    this.limiter.apply(this.commanded, this.target, advances && Number.isFinite(t) ? dtS : 0, this.targetVelocity);
    for (let k = 0; k < SIDES.length; k++) {
      const side = SIDES[k]!;
      const s = this.sides[side];
      let limited = false;
      for (let i = 0; i < ARM_DOF && !limited; i++) limited = Math.abs(this.commanded[s.armOffset + i]! - this.target[s.armOffset + i]!) > 1e-12;
      for (let i = 0; i < HAND_ACTIVE_DOF && !limited; i++) limited = Math.abs(this.commanded[s.handOffset + i]! - this.target[s.handOffset + i]!) > 1e-12;
      s.status.limited = limited;
      this.measureCommand(s);
    }
    if (advances && Number.isFinite(t)) this.lastTMs = t;
    this.output.tMs = t;
    this.assemble();
    return this.output;
  }

  private holdSide(s: SideState, hold: SideHold): void {
    const st = s.status;
    st.tracked = false;
    st.hold = hold;
    st.hand.status = 'held';
    st.hand.iterations = 0;
    st.arm.status = s.mapping.engaged ? 'held' : 'not_engaged';
    st.arm.command = st.arm.status;
    st.arm.iterations = 0;
    s.armSolved = false;
    st.engaged = s.mapping.engaged;
  }

  private processSide(s: SideState, joints: Float64Array | null, tMs: number, dtS: number): void {
    const check: SideHold = joints === null ? 'missing' : s.mapper.check(joints);
    if (joints === null || check !== 'ok') {
      this.holdSide(s, check);
      s.wasTracked = false;
      return;
    }
    const st = s.status;
    // A gap of a frame or two (Quest drops single frames) is a dropout: the filter, the warm start
    // and the clutch anchor carry on. Only a longer loss counts as re-acquisition.
    const reacquired = !s.wasTracked && tMs - s.lastTrackedMs > this.dropoutMs;
    // The clutch re-anchors only after a long loss: after a short one the arm carries on toward
    // the operator's hand from where it is.
    const reanchor = !s.wasTracked && tMs - s.lastTrackedMs > this.reanchorMs;
    // Positions through the One Euro filter (reset on re-acquisition, so it never lags from a stale hand).
    const pos = s.positions;
    for (let i = 0; i < XR_JOINT_COUNT; i++) {
      pos[i * 3] = joints[i * XR_JOINT_STRIDE]!;
      pos[i * 3 + 1] = joints[i * XR_JOINT_STRIDE + 1]!;
      pos[i * 3 + 2] = joints[i * XR_JOINT_STRIDE + 2]!;
    }
    if (s.filter) {
      if (reacquired) s.filter.reset();
      s.filter.filter(pos, pos, tMs);
    }
    const j = s.joints;
    for (let i = 0; i < XR_HAND_LENGTH; i++) j[i] = joints[i]!;
    for (let i = 0; i < XR_JOINT_COUNT; i++) {
      j[i * XR_JOINT_STRIDE] = pos[i * 3]!;
      j[i * XR_JOINT_STRIDE + 1] = pos[i * 3 + 1]!;
      j[i * XR_JOINT_STRIDE + 2] = pos[i * 3 + 2]!;
    }
    s.mapper.map(j, s.targets, s.humanPose, joints);
    st.humanGapsM.set(s.mapper.humanGapsM);

    // Hand: warm start from the previous solution; multi-start when there is none worth trusting.
    const cold = !s.everTracked || reacquired;
    s.handPrev.set(s.handQ);
    const hr = cold
      ? s.handSolver.solveCold(s.targets, s.handQ)
      : s.handSolver.solve(s.targets, s.handPrev, s.handPrev, s.handQ, s.handSolveOptions);
    this.onHandSolve?.(s.model.side, s.targets, s.handPrev, s.handQ, hr, cold);
    st.hand.status = hr.status;
    st.hand.costM2 = hr.cost;
    st.hand.tipErrorRmsM = hr.tipErrorRms;
    st.hand.iterations = hr.iterations;
    st.hand.cold = cold;

    // Arm: (re-)anchor the clutch where the robot is now, then follow.
    const side = s.model.side;
    const wantEngage = this.pendingEngage[side] || (this.autoEngage && (!s.everTracked || s.mapping.engaged));
    if (wantEngage && (reanchor || !s.mapping.engaged)) {
      this.commandedHandPose(s, this.handPose);
      s.armQ.set(s.armCommanded);
      s.mapping.engage(s.humanPose, this.handPose);
      s.armSolved = false; // the anchor moved the target: no velocity across it
      this.pendingEngage[side] = false;
    }
    if (s.mapping.flangeTarget(s.humanPose, s.flangeTarget)) {
      // Continuity: solve from the previous command only, within a trust region of a few frames'
      // worth of joint motion, so the solution never leaves the arm's IK branch (a target the
      // branch cannot meet gives a 'limited' or 'failed' command status, never a far-away
      // solution); a low rotation weight lets the position win when both cannot be met.
      s.armQ.set(s.armCommanded);
      const dt = dtS > 0 ? dtS : MIN_STEP_S;
      const vmax = s.model.armTree.maxVelocity;
      for (let i = 0; i < ARM_DOF; i++) {
        const reach = ARM_STEP_FACTOR * vmax[i]! * dt;
        s.armLower[i] = s.armQ[i]! - reach;
        s.armUpper[i] = s.armQ[i]! + reach;
      }
      const r = s.ik.solve(s.flangeTarget, s.armQ, s.armQ, s.armSolveOptions);
      // Feed-forward: how fast the flange target moves (when the previous frame was solved too,
      // with no re-anchor between), as the least-norm joint velocity of that motion at the
      // solution. The limiter brakes toward where the moving target would stop instead of stopping
      // at every frame's solution, which kept the arm a braking distance behind a moving hand.
      // Position only: the rotation gives way first.
      const fp = s.armPrevFlange, fv = this.flangeVelocity;
      if (s.armSolved) {
        for (let i = 0; i < 3; i++) fv[i] = (s.flangeTarget[9 + i]! - fp[i]!) / dt;
        s.ik.tipVelocityToJoints(s.armQ, fv, s.armTargetVelocity);
      } else {
        s.armTargetVelocity.fill(0);
      }
      for (let i = 0; i < 3; i++) fp[i] = s.flangeTarget[9 + i]!;
      s.armSolved = true;
      // On its way (the frame's bound, not a joint limit or a local optimum, holds the position back)?
      s.armHeldByTrustRegion = r.positionError > ARM_CONVERGED_POSITION_M && s.ik.boundHoldsPosition(s.armQ, s.flangeTarget, s.armLower, s.armUpper);
      st.arm.status = r.status;
      st.arm.residual = r.residual;
      st.arm.positionErrorM = r.positionError;
      st.arm.rotationErrorRad = r.rotationError;
      st.arm.iterations = r.iterations;
    } else {
      st.arm.status = 'not_engaged';
      st.arm.command = 'not_engaged';
      st.arm.iterations = 0;
      s.armSolved = false;
    }
    st.engaged = s.mapping.engaged;
    st.tracked = true;
    st.hold = 'none';
    s.wasTracked = true;
    s.everTracked = true;
    s.lastTrackedMs = tMs;
  }

  /** The commanded arm's flange against this frame's target: the honest status of the arm. */
  private measureCommand(s: SideState): void {
    if (!s.armSolved) return;
    const tree = s.model.armTree;
    const poses = tree.fk(s.armCommanded);
    const e = poseError(this.err6, 0, s.flangeTarget, 0, poses, (tree.linkCount - 1) * POSE_STRIDE);
    const arm = s.status.arm;
    arm.commandPositionErrorM = norm3(e[0]!, e[1]!, e[2]!);
    arm.commandRotationErrorRad = norm3(e[3]!, e[4]!, e[5]!);
    arm.command = arm.commandPositionErrorM <= ARM_CONVERGED_POSITION_M && arm.commandRotationErrorRad <= ARM_CONVERGED_ROTATION_RAD
      ? 'converged'
      : arm.positionErrorM <= ARM_CONVERGED_POSITION_M || s.armHeldByTrustRegion ? 'limited' : 'failed';
  }

  /** Copies a side's solved joints into the limiter's target vector. */
  private writeTarget(s: SideState): void {
    this.target.set(s.armQ, s.armOffset);
    this.target.set(s.handQ, s.handOffset);
    if (!s.armSolved) s.armTargetVelocity.fill(0);
    this.targetVelocity.set(s.armTargetVelocity, s.armOffset);
  }

  /** Rig-frame pose of a side's hand base for the commanded arm joints, into `out`. */
  private commandedHandPose(s: SideState, out: Float64Array): Float64Array {
    const tree = s.model.armTree;
    const poses = tree.fk(s.armCommanded);
    multiply(out, 0, s.model.armBaseInRig, 0, poses, (tree.linkCount - 1) * POSE_STRIDE);
    multiply(out, 0, out, 0, s.model.handInFlange, 0);
    return out;
  }

  /** Writes q (56) and the action (88) from the commanded joints, and the fingertip diagnostics. */
  private assemble(): void {
    const { q, action } = this.output;
    this.assembler.assemble(this.commanded, q, action);
    for (let k = 0; k < SIDES.length; k++) {
      const side = SIDES[k]!;
      const s = this.sides[side];
      const tips = this.assembler.tipsInHand[side];
      const st = s.status;
      const r = s.model.tipRadii;
      if (st.tracked) {
        // Against the mapped human tip, before the soft abduction turned a finger into the robot's
        // range: the error counts what the robot could not follow, that turn included.
        const m = s.mapper.mapped;
        for (let f = 0; f < 5; f++) {
          const h = XR_TIPS[f]! * 3;
          st.fingertipErrorM[f] = norm3(tips[f * 3]! - m[h]!, tips[f * 3 + 1]! - m[h + 1]!, tips[f * 3 + 2]! - m[h + 2]!);
        }
      }
      for (let f = 1; f < 5; f++) {
        st.robotGapsM[f - 1] = norm3(tips[f * 3]! - tips[0]!, tips[f * 3 + 1]! - tips[1]!, tips[f * 3 + 2]! - tips[2]!) - r[0]! - r[f]!;
      }
    }
  }
}
