#!/usr/bin/env python3
"""Writes the hand-made seed inputs into fuzz/corpus/<target>/, one small file per seed.

The seeds give each target's short run in CI (.ci/fuzz-smoke) valid ZMTP 3.x to start from,
so it mutates real greetings, commands and frames instead of searching for them. Byte layouts
follow RFC 23 (ZMTP 3.0) and RFC 37 (ZMTP 3.1), and for the legacy target RFC 13 (ZMTP 1.0)
and RFC 15 (ZMTP 2.0). Re-run after changing a seed:
    python3 fuzz/seeds.py
It only (re)writes the files named here; inputs the fuzzer found (named by their SHA-1) stay.
"""

import pathlib
import struct

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"

MORE, LONG, COMMAND = 0x01, 0x02, 0x04


def greeting(major=3, minor=1, mechanism=b"NULL", as_server=0, padding=b"\0" * 8):
    # RFC 23 §"Greeting": signature = %xFF padding(8) %x7F; version = major minor;
    # mechanism = 20 octets, zero-padded; as-server = 1 octet; filler = 31 zero octets.
    assert len(padding) == 8 and len(mechanism) <= 20
    return (
        b"\xff" + padding + b"\x7f" + bytes([major, minor])
        + mechanism.ljust(20, b"\0") + bytes([as_server]) + b"\0" * 31
    )


def frame(body, flags=0, long=None):
    # RFC 23 §"Framing": flags (MORE 0x01, LONG 0x02, COMMAND 0x04), then a 1-octet size or,
    # with LONG, an 8-octet network-order size, then the body.
    if long is None:
        long = len(body) > 255
    if long:
        return bytes([flags | LONG]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def metadata(*props):
    # RFC 23 §"Commands": property = name-size(1) name value-size(4, network order) value.
    return b"".join(
        bytes([len(n)]) + n + struct.pack(">I", len(v)) + v for n, v in props
    )


def command_body(name, data=b""):
    # RFC 23 §"Commands": command-body = command-name-size(1) command-name command-data.
    return bytes([len(name)]) + name + data


def command(name, data=b""):
    return frame(command_body(name, data), COMMAND)


def ready(*props):
    return command_body(b"READY", metadata(*props))


def ping(ttl, context=b""):
    # RFC 37 §"The PING Command": ping-ttl is 2 octets in deciseconds, context 0-16 octets.
    return command_body(b"PING", struct.pack(">H", ttl) + context)


def error(reason):
    # RFC 23 §"The ERROR Command": error-reason = 1-octet size + up to 255 octets.
    return command_body(b"ERROR", bytes([len(reason)]) + reason)


def message(*parts):
    # RFC 23 §"Framing": every frame but the last of a message has MORE set.
    return b"".join(frame(p, MORE if i < len(parts) - 1 else 0) for i, p in enumerate(parts))


DEALER = ((b"Socket-Type", b"DEALER"), (b"Identity", b"peer-1"))

# greeting: Greeting::decode over the whole input (the first 64 bytes decide).
GREETING = {
    "null-3.1-client": greeting(),
    "null-3.1-server": greeting(as_server=1),
    "null-3.0-client": greeting(minor=0),
    "plain-3.1-server": greeting(mechanism=b"PLAIN", as_server=1),
    "curve-3.1-client": greeting(mechanism=b"CURVE"),
    "long-mechanism-name": greeting(mechanism=b"X" * 20),
    # RFC 23: padding "MUST NOT" be validated; as-server other than 0/1 is read as set.
    "padding-and-as-server-nonzero": greeting(padding=b"\x01" * 8, as_server=2),
    # A newer peer (3.2+) is still 3.x; a 1.0/2.0 peer must be refused on its 11th byte.
    "future-3.2": greeting(minor=2),
    "zmtp-2.0-signature": greeting(major=1, minor=0)[:12],
    "first-11-octets": greeting()[:11],
}

# command: Command::decode and Metadata::decode over the same bytes (a command body).
COMMAND_SEEDS = {
    "ready-dealer": ready(*DEALER),
    "ready-sub": ready((b"Socket-Type", b"SUB")),
    "ready-no-properties": ready(),
    # RFC 23: property names are case-insensitive.
    "ready-lowercase-names": ready((b"socket-type", b"ROUTER"), (b"identity", b"")),
    "ready-x-property": ready((b"Socket-Type", b"REQ"), (b"X-Custom", b"\0\xff value")),
    "ping-ttl-0": ping(0),
    "ping-ttl-context": ping(300, b"ctx-0001"),
    "ping-context-16": ping(0xFFFF, b"0123456789abcdef"),
    "pong-context": command_body(b"PONG", b"ctx-0001"),
    "subscribe-topic": command_body(b"SUBSCRIBE", b"weather."),
    "subscribe-all": command_body(b"SUBSCRIBE"),
    "cancel-topic": command_body(b"CANCEL", b"weather."),
    "error-reason": error(b"Invalid socket type"),
    # Commands a mechanism other than NULL would send (RFC 23 PLAIN, RFC 26 CURVE).
    "hello-plain": command_body(b"HELLO", b"\x05admin\x06secret"),
    "initiate-unknown": command_body(b"INITIATE", b"\0" * 8),
    # Bare metadata, the shape Metadata::decode expects.
    "metadata-only": metadata(*DEALER),
    # Malformed: each must be refused, not read past its end.
    "empty-name": b"\0",
    "error-no-reason": command_body(b"ERROR"),
    "ping-context-17": ping(10, b"x" * 17),
    "pong-context-17": command_body(b"PONG", b"x" * 17),
    "ready-empty-property-name": command_body(b"READY", b"\0\0\0\0\0"),
    "ready-value-size-past-end": command_body(
        b"READY", b"\x0bSocket-Type" + struct.pack(">I", 0xFFFFFFFF) + b"DEALER"
    ),
}

# frame: the first byte sets the limits (messages byte*4, commands byte*2), frames follow.
FRAME = {
    "empty-frame": b"\xff" + frame(b""),
    "short-frame": b"\xff" + frame(b"hello"),
    "multipart-message": b"\xff" + message(b"id", b"", b"payload"),
    "long-frame-300": b"\xff" + frame(bytes(range(256)) + b"x" * 44),
    # A long header is allowed for a short body; it re-encodes as short.
    "long-header-short-body": b"\xff" + frame(b"hello", long=True),
    "command-ready": b"\xff" + command(b"READY", metadata(*DEALER)),
    "command-then-message": b"\xff" + command(b"PING", b"\0\x0a") + frame(b"after"),
    "over-limit": b"\x01" + frame(b"0123456789"),
    "long-size-top-bit": b"\xff" + b"\x02\x80" + b"\0" * 7,
    "reserved-flag": b"\xff" + frame(b"x", 0x08),
    "command-with-more": b"\xff" + frame(command_body(b"PING", b"\0\0"), COMMAND | MORE),
    "truncated-long-header": b"\xff\x02\x00\x00\x00",
    "limit-zero-empty-frames": b"\0" + frame(b"") + frame(b"", MORE) + frame(b"", COMMAND),
    "long-command": b"\xff" + frame(command_body(b"SUBSCRIBE", b"t" * 300), COMMAND),
    "limit-byte-only": b"\x03",
}


def session(control, *parts):
    return bytes([control]) + b"".join(parts)


# session: first byte = control (0x80: a valid greeting + READY(DEALER) come first; low 7 bits:
# chunk size), then what the peer sends to a ROUTER session (NULL, 64 KiB message limit).
HANDSHAKE = 0x80
TRANSCRIPT = greeting() + command(b"READY", metadata(*DEALER))
SESSION = {
    # A whole transcript from the peer, fed 64 bytes at a time.
    "transcript-3.1": session(
        64, TRANSCRIPT, message(b"hello"), message(b"a", b"b", b"c"),
        command(b"PING", b"\0\x0ahb"), message(b"x" * 300),
    ),
    "transcript-3.0-req": session(
        32, greeting(minor=0), command(b"READY", metadata((b"Socket-Type", b"REQ"))),
        message(b"", b"request"),
    ),
    "transcript-one-byte-chunks": session(1, TRANSCRIPT, message(b"hi")),
    "transcript-wrong-socket-type": session(
        64, greeting(), command(b"READY", metadata((b"Socket-Type", b"PUB")))
    ),
    "transcript-plain-mechanism": session(64, greeting(mechanism=b"PLAIN")),
    "transcript-zmtp-2.0": session(64, greeting(major=2, minor=0)),
    "transcript-message-before-ready": session(64, greeting(), message(b"early")),
    "transcript-ready-without-socket-type": session(
        64, greeting(), command(b"READY", metadata((b"Identity", b"x")))
    ),
    "transcript-ready-truncated-metadata": session(
        1, greeting(), command(b"READY", b"\x0bSocket-Type" + struct.pack(">I", 0x06BCBEB3))
    ),
    # After the built-in handshake: traffic only.
    "traffic-messages": session(
        HANDSHAKE | 127, message(b"one"), message(b"two", b"parts"), message(b"")
    ),
    "traffic-ping-pong": session(
        HANDSHAKE | 16, command(b"PING", b"\0\x05ctx"), command(b"PONG", b"ctx"),
        message(b"after"),
    ),
    "traffic-subscribe-cancel": session(
        HANDSHAKE | 8, command(b"SUBSCRIBE", b"t"), command(b"CANCEL", b"t"),
    ),
    "traffic-error": session(HANDSHAKE | 127, command(b"ERROR", b"\x04bye!")),
    "traffic-error-empty-reason": session(HANDSHAKE | 127, command(b"ERROR", b"\0\0\x0e")),
    "traffic-second-ready": session(HANDSHAKE | 127, command(b"READY", metadata(*DEALER))),
    "traffic-ping-context-too-long": session(
        HANDSHAKE | 127, command(b"PING", b"\0\x05" + b"x" * 17)
    ),
    "traffic-commands-in-8-byte-chunks": session(
        HANDSHAKE | 8,
        *[command(b"SUBSCRIBE", b"t"), command(b"CANCEL", b"CAUB"), message(b"m", b"n")] * 4,
        command(b"PING", b"\0\x05ctx"), command(b"PONG", b"ctx"),
    ),
    "traffic-oversized-header": session(HANDSHAKE | 127, b"\x02" + struct.pack(">Q", 1 << 20)),
    "traffic-unknown-command": session(HANDSHAKE | 127, command(b"X-NEW", b"data")),
    # No traffic: the handshake one byte a time, timers (heartbeats, TTL) firing between.
    "handshake-only-byte-chunks": session(HANDSHAKE | 1),
}


# legacy: byte 0 = mode (0 ZMTP 1.0 headers, 1 ZMTP 2.0 headers, 2-255 a session, whose
# socket type is mode % 4: PULL, ROUTER, PUB, SUB), byte 1 = limit / 4 or input chunk size.
SIG = b"\xff" + struct.pack(">Q", 1) + b"\x7f"  # RFC 15: padding = identity length + 1
LEGACY = {
    # RFC 13 §"The Framing Layer": length (counting the flags byte), flags, body.
    "v1-frames": b"\x00\x40" + b"\x02\x01m\x03\x00hi" + b"\xff" + struct.pack(">Q", 11) + b"\x00" + b"z" * 10,
    "v1-zero-length": b"\x00\x40\x00\x00",
    # RFC 15 §"Framing": flags (MORE 0x01, LONG 0x02), size, body.
    "v2-frames": b"\x01\x40" + b"\x01\x01m\x00\x02hi" + b"\x02" + struct.pack(">Q", 10) + b"z" * 10,
    "v2-reserved-bit": b"\x01\x40\x04\x00",
    # Sessions: a JeroMQ 0.3.6 DEALER (ZMTP 2.0) to a ROUTER, whole and byte by byte.
    "session-v2-dealer": b"\x05\xff" + b"\xff" + struct.pack(">Q", 10) + b"\x7f\x01\x05\x00\x09dealer-id\x01\x01m\x01\x010\x00\x00",
    "session-v2-dealer-bytes": b"\x05\x01" + b"\xff" + struct.pack(">Q", 10) + b"\x7f\x01\x05\x00\x09dealer-id\x01\x01m\x00\x00",
    # A ZMTP 2.0 SUB subscribing (a 0x01-prefixed message) to a PUB.
    "session-v2-sub": b"\x06\x03" + SIG + b"\x01\x02\x00\x00\x00\x03\x01ab",
    # A ZMTP 1.0 PUSH (no signature) to a PULL; one with a long identity header.
    "session-v1-push": b"\x04\x02\x03\x00ab\x02\x01m\x03\x00hi",
    "session-v1-long-identity": b"\x04\xff\xff" + struct.pack(">Q", 3) + b"\x00ab\x02\x00m",
    # A signature then revision 0: ZMTP 1.0 framing after a ZMTP 2.0-style greeting.
    "session-revision-0": b"\x07\x04" + SIG + b"\x00\x01\x01\x00\x03\x00hi",
}


def main():
    for target, seeds in (
        ("greeting", GREETING),
        ("command", COMMAND_SEEDS),
        ("frame", FRAME),
        ("session", SESSION),
        ("legacy", LEGACY),
    ):
        out = CORPUS / target
        out.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (out / name).write_bytes(data)


if __name__ == "__main__":
    main()
