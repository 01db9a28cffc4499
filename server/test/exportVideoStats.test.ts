/**
 * The pure parts of the export's camera videos (server/src/export/video.ts): which frames the
 * image statistics sample (checked against numpy's `round(linspace(…))`, LeRobot's formula), the
 * pixel stride, the statistics' aggregation over episodes against a brute-force computation over
 * every pixel, the image sizes read from JPEG and PNG headers (images made by Debian's ffmpeg),
 * and the even video size.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { imageSize } from '../src/cameras/imageSize.js';
import { EpisodeHistogram, imageStats, statsSampleIndices, statsStride, videoSize } from '../src/export/video.js';

describe('statistics sampling', () => {
  it('picks the frames numpy.round(numpy.linspace(0, n - 1, count)) picks', () => {
    // Reference values printed by numpy 1.24 for LeRobot's estimate_num_samples + sample_indices.
    const reference: [number, number, number[], number[], number][] = [
      [1, 1, [0], [0], 0],
      [2, 2, [0, 1], [0, 1], 1],
      [50, 50, [0, 1, 2, 3, 4, 5], [47, 48, 49], 1225],
      [101, 100, [0, 1, 2, 3, 4, 5], [98, 99, 100], 5000],
      [1000, 177, [0, 6, 11, 17, 23, 28], [988, 993, 999], 88412],
      [1801, 276, [0, 7, 13, 20, 26, 33], [1787, 1793, 1800], 248400],
      [108000, 5957, [0, 18, 36, 54, 73, 91], [107963, 107981, 107999], 321675021],
    ];
    for (const [length, count, head, last, sum] of reference) {
      const indices = statsSampleIndices(length);
      expect(indices, `length ${length}`).toHaveLength(count);
      expect(indices.slice(0, head.length)).toEqual(head);
      expect(indices.slice(-last.length)).toEqual(last);
      expect(indices.reduce((a, b) => a + b, 0)).toBe(sum);
    }
  });

  it('subsamples pixels of frames 300 pixels or more on their longer side', () => {
    expect(statsStride(299, 200)).toBe(1);
    expect(statsStride(320, 240)).toBe(2);
    expect(statsStride(640, 480)).toBe(4);
    expect(statsStride(480, 1280)).toBe(8);
  });
});

describe('image statistics', () => {
  it('aggregate the episodes to the statistics of all their sampled pixels (mean, std, min, max), per channel, in [0, 1]', () => {
    const width = 4;
    const height = 3;
    let seed = 7;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const frame = (base: number): Uint8Array => Uint8Array.from({ length: width * height * 3 }, (_, i) => Math.min(255, base + (i % 3) * 40 + Math.floor(rnd() * 30)));
    const episodes = [new EpisodeHistogram(), new EpisodeHistogram()];
    const pixels: number[][] = [[], [], []];
    const add = (e: number, rgb: Uint8Array, weight: number): void => {
      episodes[e]!.add(rgb, width, height, weight);
      for (let w = 0; w < weight; w++) for (let i = 0; i < rgb.length; i++) pixels[i % 3]!.push(rgb[i]!);
    };
    add(0, frame(10), 1);
    add(0, frame(20), 2);
    add(1, frame(100), 1);
    add(1, frame(90), 1);
    add(1, frame(120), 3);
    const stats = imageStats(episodes);
    expect(stats.count).toEqual([8]);
    for (let c = 0; c < 3; c++) {
      const xs = pixels[c]!;
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
      const at = (name: string): number => (stats[name] as number[][][])[c]![0]![0]!;
      expect(at('mean')).toBeCloseTo(mean / 255, 12);
      expect(at('std')).toBeCloseTo(std / 255, 12);
      expect(at('min')).toBe(Math.min(...xs) / 255);
      expect(at('max')).toBe(Math.max(...xs) / 255);
      expect(at('q01')).toBeLessThanOrEqual(at('q50'));
      expect(at('q50')).toBeLessThanOrEqual(at('q99'));
    }
    for (const name of ['min', 'max', 'mean', 'std', 'q01', 'q10', 'q50', 'q90', 'q99']) {
      const value = stats[name] as number[][][];
      expect(value.map((ch) => [ch.length, ch[0]!.length])).toEqual([[1, 1], [1, 1], [1, 1]]);
    }
  });

  it('quantiles of one episode are the 8-bit values where the pixels reach each fraction', () => {
    const h = new EpisodeHistogram();
    // 100 pixels per channel, value v once for v = 0..99 (a 10 × 10 frame, grey).
    const rgb = Uint8Array.from({ length: 300 }, (_, i) => Math.floor(i / 3));
    h.add(rgb, 10, 10, 1);
    const s = imageStats([h]);
    const q = (name: string): number => Math.round((s[name] as number[][][])[0]![0]![0]! * 255);
    expect([q('q01'), q('q10'), q('q50'), q('q90'), q('q99')]).toEqual([0, 9, 49, 89, 98]);
  });
});

describe('image sizes from headers', () => {
  const make = (codec: string, size: string): Buffer =>
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-vf', `scale=${size.replace('x', ':')}`, '-frames:v', '1', '-c:v', codec, '-f', 'image2pipe', 'pipe:1']);

  it('reads JPEG (SOF) and PNG (IHDR) sizes, also from the first bytes only', () => {
    const jpeg = make('mjpeg', '322x242');
    expect(imageSize('jpeg', jpeg)).toEqual({ width: 322, height: 242 });
    expect(imageSize('jpeg', jpeg.subarray(0, 1024))).toEqual({ width: 322, height: 242 });
    const png = make('png', '161x121');
    expect(imageSize('png', png)).toEqual({ width: 161, height: 121 });
    expect(imageSize('png', png.subarray(0, 24))).toEqual({ width: 161, height: 121 });
  });

  it('answers null for what is not that format or stops before the size', () => {
    const jpeg = make('mjpeg', '64x48');
    expect(imageSize('png', jpeg)).toBeNull();
    expect(imageSize('jpeg', make('png', '64x48'))).toBeNull();
    expect(imageSize('jpeg', jpeg.subarray(0, 10))).toBeNull();
    expect(imageSize('jpeg', new Uint8Array(0))).toBeNull();
  });

  it('video sizes are even', () => {
    expect(videoSize(161, 121)).toEqual({ width: 160, height: 120 });
    expect(videoSize(640, 480)).toEqual({ width: 640, height: 480 });
  });
});
