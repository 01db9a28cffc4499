/** `dexbridge export <recordings...> --out <dir> [--format lerobot] [--fps 30] [--all] [--video-codec av1|h264]`. See `docs/dataset.md`. */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ExportError, exportLeRobot, VIDEO_CODECS, type VideoCodec } from '../export/lerobot.js';
import { usageFromParseError } from './args.js';
import { CliError, EXIT_OK } from './CliError.js';
import type { CliIo } from './io.js';

export const EXPORT_USAGE = `Usage: dexbridge export <recording.mcap>... --out <dir> [--format lerobot] [--fps 30] [--all] [--video-codec av1]

Writes the recordings as a LeRobotDataset v3.0 (one episode per recording, resampled to --fps).
Only recordings whose metadata says success = true are exported, unless --all.
Cameras become video features observation.images.<camera>, encoded with ffmpeg.

Options:
  --format lerobot   the dataset format (the default; only lerobot for now)
  --out <dir>        where to write; must be absent or empty
  --fps <n>          frames per second, an integer in 1..1000 (default 30)
  --all              export every recording, whatever its success
  --video-codec <c>  av1 (default, as LeRobot; SVT-AV1) or h264 (libx264) for the camera videos
`;

export async function exportCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const parse = () =>
    parseArgs({
      args: [...argv],
      options: { format: { type: 'string' }, out: { type: 'string' }, fps: { type: 'string' }, all: { type: 'boolean' }, 'video-codec': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    throw usageFromParseError('export', err);
  }
  const { format = 'lerobot', out, fps: fpsText = '30', all = false, 'video-codec': codecText = 'av1' } = parsed.values;
  if (format !== 'lerobot') throw new CliError('CLI_USAGE', `export: unknown --format ${JSON.stringify(format)}; only lerobot is supported`);
  const recordings = parsed.positionals;
  if (recordings.length === 0) throw new CliError('CLI_USAGE', 'EXPORT_NO_RECORDINGS: export: give at least one recording file');
  if (out === undefined) throw new CliError('CLI_USAGE', 'export: give --out <dir>');
  const fps = /^\d+$/.test(fpsText) ? Number(fpsText) : Number.NaN;
  if (!Number.isInteger(fps) || fps < 1 || fps > 1000) {
    throw new CliError('CLI_USAGE', `EXPORT_BAD_FPS: export: --fps must be an integer in 1..1000, got ${JSON.stringify(fpsText)}`);
  }
  if (!(VIDEO_CODECS as readonly string[]).includes(codecText)) {
    throw new CliError('CLI_USAGE', `EXPORT_BAD_VIDEO_CODEC: export: --video-codec must be one of ${VIDEO_CODECS.join(', ')}, got ${JSON.stringify(codecText)}`);
  }
  const videoCodec = codecText as VideoCodec;
  for (const r of recordings) if (!existsSync(r)) throw new CliError('CLI_INPUT_NOT_FOUND', `export: no file ${r}`);
  const started = performance.now();
  let result: Awaited<ReturnType<typeof exportLeRobot>>;
  try {
    result = await exportLeRobot({
      recordings, outDir: out, fps, all, videoCodec,
      // Encoding video takes minutes for long sessions: say where it is, per camera per episode.
      onVideo: (v) => void io.stdout.write(`dexbridge export: ${v.key}: episode ${v.episode + 1}/${v.episodes} encoding (${v.frames} frames from ${v.images} images)\n`),
    });
  } catch (err) {
    if (err instanceof ExportError) {
      // The recording's content: its format; ffmpeg missing or failing: not the caller's arguments.
      const code =
        err.code === 'EXPORT_MISSING_CHANNEL' || err.code === 'EXPORT_BAD_MESSAGE' || err.code === 'EXPORT_CAMERA_MISMATCH'
          ? 'CLI_UNKNOWN_FORMAT'
          : err.code === 'EXPORT_FFMPEG_MISSING' || err.code === 'EXPORT_VIDEO_CODEC_MISSING' || err.code === 'EXPORT_VIDEO_FAILED'
            ? 'CLI_OUTPUT_FAILED'
            : 'CLI_USAGE';
      throw new CliError(code, `${err.code}: ${err.message}`);
    }
    if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('RECORDING_')) {
      throw new CliError('CLI_INPUT_UNREADABLE', `${err.code}: ${err.message}`);
    }
    throw err;
  }
  const ms = performance.now() - started;
  const bytes = result.files.reduce((n, f) => n + f.bytes, 0);
  for (const s of result.skipped) io.stdout.write(`dexbridge export: skipped ${s.path} (success = ${s.success}; --all exports it)\n`);
  for (const v of result.videos) {
    io.stdout.write(`dexbridge export: ${v.path}: ${v.frames} frames ${v.width}×${v.height} ${v.codec} (${v.encoder}), ${v.bytes} bytes, ${(v.ms / 1000).toFixed(1)} s\n`);
  }
  io.stdout.write(
    `dexbridge export: ${result.episodes} episode(s), ${result.frames} frames at ${fps} fps, ${result.tasks.length} task(s) → ${out} ` +
      `(${bytes} bytes, ${ms.toFixed(0)} ms)\n`,
  );
  return EXIT_OK;
}
