/**
 * The retargeted-output JSON Lines format written by `dexbridge retarget --out`: one header line,
 * then one line per input frame. Field list and units: `docs/cli.md`.
 */
import { ACTION_NAMES, type RetargetOutput, type SideStatus, STATE_JOINT_NAMES } from '@dexbridge/retarget';

/** Rounds to 1e-6 (µrad, µm) and never writes `-0`; non-finite values become `null`. */
function micro(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  const r = Math.round(value * 1e6) / 1e6;
  return r === 0 ? '0' : String(r);
}

/** Four significant digits (costs and residuals span many decades); non-finite becomes `null`. */
function sig4(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  const r = Number(value.toPrecision(4));
  return r === 0 ? '0' : String(r);
}

function microArray(values: ArrayLike<number>): string {
  let s = '[';
  for (let i = 0; i < values.length; i++) s += (i > 0 ? ',' : '') + micro(values[i]!);
  return `${s}]`;
}

const NO_TIPS = '[null,null,null,null,null]';
const NO_GAPS = '[null,null,null,null]';

function sideStatus(st: SideStatus): string {
  const handSolved = st.hand.status !== 'held';
  const armSolved = st.arm.status === 'converged' || st.arm.status === 'max_iterations';
  return (
    `{"tracked":${st.tracked},"hold":"${st.hold}","engaged":${st.engaged},` +
    `"hand":{"status":"${st.hand.status}","cost_m2":${handSolved ? sig4(st.hand.costM2) : 'null'},` +
    `"tip_error_rms_m":${handSolved ? micro(st.hand.tipErrorRmsM) : 'null'},"iterations":${st.hand.iterations},"cold":${st.hand.cold}},` +
    `"arm":{"status":"${st.arm.status}","residual":${armSolved ? sig4(st.arm.residual) : 'null'},"iterations":${st.arm.iterations}},` +
    `"human_gaps_m":${st.tracked ? microArray(st.humanGapsM) : NO_GAPS},"robot_gaps_m":${microArray(st.robotGapsM)},` +
    `"fingertip_error_m":${st.tracked ? microArray(st.fingertipErrorM) : NO_TIPS},` +
    `"limited":${st.limited}}`
  );
}

/** The header line: `{"type":"header","joint_names":[56],"action_names":[88]}` (no newline). */
export function formatOutputHeader(): string {
  return JSON.stringify({ type: 'header', joint_names: STATE_JOINT_NAMES, action_names: ACTION_NAMES });
}

/**
 * One frame line (no newline): `{"t","q":[56],"action":[88],"status":{"left","right"}}`. `t` in
 * ms rounded to 1e-3; `q` and `action` rounded to 1e-6 (rad or m). In the status, numbers that
 * describe no solve in this frame (a held hand, an arm not solved) are `null`.
 */
export function formatOutputLine(out: RetargetOutput): string {
  const t = Math.round(out.tMs * 1e3) / 1e3;
  return (
    `{"t":${Number.isFinite(t) ? String(t === 0 ? 0 : t) : 'null'},"q":${microArray(out.q)},"action":${microArray(out.action)},` +
    `"status":{"left":${sideStatus(out.status.left)},"right":${sideStatus(out.status.right)}}}`
  );
}
