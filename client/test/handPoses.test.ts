import { Matrix4, Quaternion, Vector3 } from 'three';
import { describe, expect, it } from 'vitest';
import { createHandReader, packJoints, quatFromMatrix } from '../src/operator/handPoses.js';

function randomQuat(seed: number): Quaternion {
  const r = (k: number) => Math.sin(seed * 12.9898 + k * 78.233) * 43758.5453 % 1;
  return new Quaternion(r(1), r(2), r(3), r(4)).normalize();
}

describe('hand poses from fillPoses', () => {
  it('turns column-major matrices into the same unit quaternion three.js finds (up to sign)', () => {
    const out = new Float64Array(4);
    for (let i = 1; i <= 200; i++) {
      const q = randomQuat(i);
      const m = new Matrix4().compose(new Vector3(1, 2, 3), q, new Vector3(1, 1, 1));
      quatFromMatrix(m.elements, 0, out, 0);
      const dot = out[0]! * q.x + out[1]! * q.y + out[2]! * q.z + out[3]! * q.w;
      expect(Math.abs(dot)).toBeCloseTo(1, 9);
    }
  });

  it('packs 25 joints as [px, py, pz, qx, qy, qz, qw, radius]', () => {
    const matrices = new Float32Array(25 * 16);
    const radii = new Float32Array(25);
    for (let j = 0; j < 25; j++) {
      new Matrix4().compose(new Vector3(j, -j, 0.5 * j), randomQuat(j + 1), new Vector3(1, 1, 1)).toArray(matrices, j * 16);
      radii[j] = 0.01 + j * 1e-4;
    }
    const out = new Float32Array(200);
    packJoints(matrices, radii, out);
    for (let j = 0; j < 25; j++) {
      expect([out[j * 8], out[j * 8 + 1], out[j * 8 + 2]]).toEqual([j, -j, 0.5 * j]);
      expect(Math.hypot(out[j * 8 + 3]!, out[j * 8 + 4]!, out[j * 8 + 5]!, out[j * 8 + 6]!)).toBeCloseTo(1, 6);
      expect(out[j * 8 + 7]).toBeCloseTo(radii[j]!, 7);
    }
  });

  it('reads each tracked hand of an XR frame, and counts a hand without all 25 poses as not tracked', () => {
    const jointSpaces = (hand: string) => new Map(Array.from({ length: 25 }, (_, i) => [`j${i}`, { hand, i }]));
    const left = jointSpaces('left');
    const right = jointSpaces('right');
    let rightHasPoses = true;
    const frame = {
      session: { inputSources: [{ handedness: 'left', hand: left }, { handedness: 'right', hand: right }, { handedness: 'none', hand: undefined }] },
      fillPoses(spaces: { hand: string; i: number }[], _space: unknown, m: Float32Array) {
        if (spaces[0]!.hand === 'right' && !rightHasPoses) return false;
        spaces.forEach((s, k) => {
          new Matrix4().makeTranslation(s.hand === 'left' ? -k : k, 1, 0).toArray(m, k * 16);
        });
        return true;
      },
      fillJointRadii(_spaces: unknown[], r: Float32Array) {
        r.fill(0.01);
        return true;
      },
    } as unknown as XRFrame;
    const reader = createHandReader();
    expect(reader.read(frame, {} as XRReferenceSpace)).toBe(2);
    expect(reader.tracked).toEqual({ left: true, right: true });
    expect(reader.joints.left[3 * 8]).toBe(-3);
    expect(reader.joints.right[3 * 8]).toBe(3);
    expect(reader.joints.right[3 * 8 + 6]).toBe(1); // identity rotation: qw = 1
    rightHasPoses = false;
    expect(reader.read(frame, {} as XRReferenceSpace)).toBe(1);
    expect(reader.tracked).toEqual({ left: true, right: false });
  });
});
