#!/usr/bin/env python3
"""A minimal dexbridge policy client: the loop a learning policy runs, closed on dexbridge's
observations.

It connects as the `policy` role, estimates the server clock with `ping`, subscribes to the
robot state (every connection receives it) and to every camera the server has, and sends
K x 88 action chunks on the server clock. The "policy" here holds the robot where it is (every
row is the newest commanded action): replace `policy()` with your model, which gets the newest
state and the newest image of each camera.

Only the Python standard library and `websockets` (Debian: `apt-get install python3-websockets`).
The wire protocol is docs/protocol.md.

    DEXBRIDGE_POLICY_TOKEN=... python3 examples/policy_client.py --url ws://127.0.0.1:8080/ws

An operator must hold the control lease, choose `policy` mode and engage before chunks move the
robot; until then every chunk is refused with a coded error (printed, the client goes on).
"""

import argparse
import asyncio
import json
import os
import struct
import sys
import time

import websockets

PROTOCOL = 1
KIND_ROBOT_STATE = 2
KIND_ACTION_CHUNK = 3
KIND_CAMERA_FRAME = 5
ACTION_DIM = 88
CODECS = {1: "jpeg", 2: "png", 3: "h264"}


def now_ms():
    """The client's monotonic clock, ms."""
    return time.monotonic() * 1000.0


def decode_robot_state(buf):
    """ROBOT_STATE (kind 2, 856 bytes): the fields a policy needs, or None."""
    if len(buf) != 856 or buf[0] != KIND_ROBOT_STATE or buf[1] != PROTOCOL:
        return None
    seq, server_time_ms = struct.unpack_from("<Id", buf, 4)
    flags = buf[3]
    return {
        "mode": buf[2],
        "estop": bool(flags & 0x01),
        "seq": seq,
        "server_time_ms": server_time_ms,
        "commanded": struct.unpack_from("<56f", buf, 56),
        "action": struct.unpack_from("<88f", buf, 280),
        "measured": struct.unpack_from("<56f", buf, 632) if flags & 0x10 else None,
    }


def decode_camera_frame(buf):
    """CAMERA_FRAME (kind 5): camera id, seq, capture time (server clock), codec, size, image bytes."""
    if len(buf) < 25 or buf[0] != KIND_CAMERA_FRAME or buf[1] != PROTOCOL:
        return None
    codec, flags, seq, capture_ms, width, height, id_bytes = struct.unpack_from("<BBIdHHB", buf, 2)
    start = 24 + id_bytes
    if id_bytes < 1 or len(buf) <= start:
        return None
    return {
        "camera_id": bytes(buf[24:start]).decode("ascii"),
        "seq": seq,
        "capture_time_ms": capture_ms,
        "codec": CODECS.get(codec, "unknown"),
        "key_frame": bool(flags & 0x01),
        "width": width,
        "height": height,
        "image": bytes(buf[start:]),
    }


def encode_action_chunk(chunk_id, start_time_ms, period_ms, rows):
    """ACTION_CHUNK (kind 3): 24-byte header, then k rows of 88 float32, row-major."""
    k = len(rows)
    if not 1 <= k <= 256 or any(len(r) != ACTION_DIM for r in rows):
        raise ValueError(f"a chunk is 1..256 rows of {ACTION_DIM} numbers, got {k} rows")
    header = struct.pack("<BBHIdd", KIND_ACTION_CHUNK, PROTOCOL, k, chunk_id, start_time_ms, period_ms)
    return header + struct.pack(f"<{k * ACTION_DIM}f", *(v for r in rows for v in r))


class Observations:
    """The newest state and the newest frame of each camera, and counters to report."""

    def __init__(self):
        self.state = None
        self.states = 0
        # camera id -> newest frame as received. A JPEG/PNG payload is a whole picture; an "h264"
        # payload is one access unit that decodes only after those before it (from the key frame
        # the server always sends first): feed every one, in order, to a decoder such as PyAV's
        # av.CodecContext.create("h264", "r").decode(av.Packet(payload)) and keep its newest picture.
        self.frames = {}
        self.frame_counts = {}
        self.errors = []
        self.offset_ms = None  # server clock = client clock + offset
        self.best_rtt_ms = float("inf")

    def server_now(self):
        return now_ms() + self.offset_ms


def policy(obs, k):
    """The policy: k rows of 88 numbers. This one holds the robot at its newest commanded action."""
    return [list(obs.state["action"]) for _ in range(k)]


async def receive(ws, obs, pongs):
    async for msg in ws:
        if isinstance(msg, bytes):
            if msg and msg[0] == KIND_ROBOT_STATE:
                s = decode_robot_state(msg)
                if s is not None:
                    obs.state = s
                    obs.states += 1
            elif msg and msg[0] == KIND_CAMERA_FRAME:
                f = decode_camera_frame(msg)
                if f is not None:
                    obs.frames[f["camera_id"]] = f
                    obs.frame_counts[f["camera_id"]] = obs.frame_counts.get(f["camera_id"], 0) + 1
            continue
        m = json.loads(msg)
        if m["type"] == "pong":
            t = now_ms()
            rtt = t - m["clientTimeMs"]
            # Keep the estimate from the round trip with the smallest delay (docs/protocol.md, Clocks).
            if rtt <= obs.best_rtt_ms:
                obs.best_rtt_ms = rtt
                obs.offset_ms = m["serverTimeMs"] - (m["clientTimeMs"] + t) / 2
            pongs.put_nowait(m["id"])
        elif m["type"] == "error":
            obs.errors.append(f"{m['code']}: {m['message']}")
            print(f"error {m['code']}: {m['message']}", flush=True)


async def ping(ws, pongs, ping_id):
    await ws.send(json.dumps({"type": "ping", "id": ping_id, "clientTimeMs": now_ms()}))
    while await pongs.get() != ping_id:
        pass


async def run(args):
    obs = Observations()
    async with websockets.connect(args.url, max_size=16 * 1024 * 1024) as ws:
        await ws.send(json.dumps({"type": "hello", "protocol": PROTOCOL, "role": "policy", "token": args.token, "name": args.name}))
        welcome = json.loads(await ws.recv())
        if welcome.get("type") != "welcome":
            print(f"refused: {welcome}", file=sys.stderr, flush=True)
            return 2
        cameras = [c["id"] for c in welcome.get("cameras", [])]
        print(f"welcome: session {welcome['sessionId']}, {len(welcome['actionNames'])} actions, cameras {cameras}", flush=True)
        pongs = asyncio.Queue()
        reader = asyncio.create_task(receive(ws, obs, pongs))
        for i in range(5):  # a few pings for the clock offset
            await ping(ws, pongs, i + 1)
        if cameras:
            await ws.send(json.dumps({"type": "camera_subscribe", "cameras": cameras}))
        # Wait for the first observation of everything the policy looks at.
        while obs.state is None or any(c not in obs.frames for c in cameras):
            if reader.done():
                print("the server closed the connection", file=sys.stderr, flush=True)
                return 1
            await asyncio.sleep(0.01)
        period_s = 1.0 / args.rate
        sent = 0
        while args.chunks == 0 or sent < args.chunks:
            rows = policy(obs, args.k)
            # Row 0 is due a little ahead of the server's now, rows every `period` ms after it.
            start = obs.server_now() + args.lead_ms
            await ws.send(encode_action_chunk(sent, start, args.period_ms, rows))
            sent += 1
            ages = ", ".join(f"{c} {obs.server_now() - f['capture_time_ms']:.0f} ms" for c, f in sorted(obs.frames.items()))
            print(f"chunk {sent - 1}: k={args.k} start {start:.1f} ms; states {obs.states}; camera ages: {ages or 'none'}", flush=True)
            await asyncio.sleep(period_s)
        # Everything the server says about our chunks arrives before the answer to this ping.
        await ping(ws, pongs, 1000)
        reader.cancel()
        frames = ", ".join(f"{c} {n}" for c, n in sorted(obs.frame_counts.items()))
        print(f"done: {sent} chunks sent, {obs.states} states, camera frames: {frames or 'none'}, {len(obs.errors)} errors", flush=True)
        return 1 if obs.errors and args.fail_on_error else 0


def main():
    p = argparse.ArgumentParser(description="A minimal dexbridge policy client (docs/protocol.md).")
    p.add_argument("--url", default="ws://127.0.0.1:8080/ws", help="dexbridge WebSocket URL")
    p.add_argument("--token", default=os.environ.get("DEXBRIDGE_POLICY_TOKEN", ""), help="policy token (default $DEXBRIDGE_POLICY_TOKEN)")
    p.add_argument("--name", default="python-policy")
    p.add_argument("--k", type=int, default=10, help="rows per chunk (1..186 with the default message size limit)")
    p.add_argument("--period-ms", type=float, default=20.0, help="time between rows, ms")
    p.add_argument("--lead-ms", type=float, default=20.0, help="row 0 is due this long after the server's now, ms")
    p.add_argument("--rate", type=float, default=10.0, help="chunks per second")
    p.add_argument("--chunks", type=int, default=0, help="stop after this many chunks (0: run until interrupted)")
    p.add_argument("--fail-on-error", action="store_true", help="exit 1 if the server refused anything")
    args = p.parse_args()
    try:
        sys.exit(asyncio.run(run(args)))
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
