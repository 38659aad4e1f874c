//! Lines ⇄ messages: how fzmq turns a line of stdin into a message and a received message
//! into a line of stdout. The rules are user-facing and spelled out in [`FORMAT_HELP`] (shown
//! by `fzmq TYPE --help`); keep the two in step.
//!
//! The one invariant: a printed line, read back with the same flags, gives the same frames.
//! That is why text which merely looks like hex, or contains the separator, is printed in hex.

use std::fmt;

use ferrozmq::{Bytes, Message};

/// The format rules, as shown in `--help`.
pub(crate) const FORMAT_HELP: &str = "\
Input and output:
  stdin is read one message per line (-0: per NUL byte). The line is split into frames on
  the --delimiter STR, or on TAB without one. An empty line is a message of one empty frame.

  Received messages are printed one per line (-0: each followed by a NUL byte), their
  frames joined by the --delimiter, or by a TAB without one, so any printed line can be
  pasted back as input.

  A frame that is not printable text (not UTF-8, or with control characters -- with -0,
  newlines are text --, or containing the separator, or itself of the form 0x<hex>) is
  printed as 0x and lower-case hex digits, e.g. a ROUTER routing id 0x0080000001. An input
  frame written 0x and an even number of hex digits is sent as those bytes, e.g.
    fzmq router --bind 'tcp://*:5555'     prints   0x0080000001<TAB>hello
    and the input line                             0x0080000001<TAB>world  replies.

  --hex: every frame is read and written as hex digits (0x prefix optional on input); a
  line that is not hex is not sent, and fzmq exits 1 at the end.

  xpub and xsub: a subscription is written 0x01TOPIC and an unsubscription 0x00TOPIC, TOPIC
  being a frame as above (text, or 0x<hex> for bytes): xpub prints its subscribers' this
  way, and such a line on xsub's stdin subscribes (0x01 alone: to everything).

  stream: a message is ID<TAB>DATA, ID being the peer's routing id (0x00 and 4 bytes, so
  printed in hex); a peer that connects or leaves prints ID<TAB> (no data), and the input
  line ID<TAB> closes that connection once what was sent before it is written.

Ending:
  push, pub, req and rep stop at the end of stdin; every type waits up to --linger for
  queued messages to go out (also to peers not reached yet), and exits 1 saying how many
  were not delivered when LINGER expires first. pull and sub, and dealer, router, pair, xpub,
  xsub and stream, which keep receiving after stdin ends, run until --count messages have arrived
  or --timeout passes without one (with --exit-on-eof: exit 0 once stdin has ended and
  --timeout passed without a message). Ctrl-C closes the socket with its LINGER, flushing
  what was queued (a second Ctrl-C exits at once).
  Exit status: 0 done, 1 runtime error (including --timeout and undelivered messages),
  2 bad arguments, 130 interrupted (Ctrl-C).";

/// How frames are laid out on a line: the delimiter, whether every frame is hex, what ends a
/// message (newline, or NUL with `-0`), and whether subscriptions are written `0x01TOPIC`.
#[derive(Debug, Clone)]
pub(crate) struct Framing {
    delimiter: Option<Vec<u8>>,
    hex: bool,
    terminator: u8,
    subscriptions: bool,
}

/// Separator between printed frames when no delimiter is given.
const DEFAULT_SEPARATOR: &[u8] = b"\t";

impl Framing {
    /// A delimiter of `None` (or an empty one) means frames are separated by TAB.
    pub(crate) fn new(delimiter: Option<&str>, hex: bool) -> Framing {
        let delimiter = delimiter
            .filter(|d| !d.is_empty())
            .map(|d| d.as_bytes().to_vec());
        Framing {
            delimiter,
            hex,
            terminator: b'\n',
            subscriptions: false,
        }
    }

    /// Messages end with a NUL byte instead of a newline (`-0`): frames may contain newlines.
    pub(crate) fn nul_terminated(mut self) -> Framing {
        self.terminator = 0;
        self
    }

    /// Single-frame messages that start with byte 1 or 0 are written `0x01TOPIC` /
    /// `0x00TOPIC` (xpub and xsub).
    pub(crate) fn with_subscriptions(mut self) -> Framing {
        self.subscriptions = true;
        self
    }

    /// The byte that ends a message on input and output.
    pub(crate) fn terminator(&self) -> u8 {
        self.terminator
    }

    /// Removes the terminator (and a CR before a newline) from the end of an input record.
    pub(crate) fn strip_end(&self, line: &mut Vec<u8>) {
        if self.terminator == b'\n' {
            strip_line_end(line);
        } else if line.last() == Some(&self.terminator) {
            line.pop();
        }
    }

    fn separator(&self) -> &[u8] {
        self.delimiter.as_deref().unwrap_or(DEFAULT_SEPARATOR)
    }

    /// Parses one input line (without its line ending) into a message.
    pub(crate) fn parse_line(&self, line: &[u8]) -> Result<Message, FrameError> {
        if let Some(msg) = self.parse_subscription(line) {
            return Ok(msg);
        }
        let fields = split(line, self.separator());
        fields
            .into_iter()
            .enumerate()
            .map(|(i, field)| {
                if self.hex {
                    parse_hex(field.strip_prefix(b"0x").unwrap_or(field))
                        .map(Bytes::from)
                        .map_err(|kind| FrameError { frame: i + 1, kind })
                } else {
                    Ok(parse_text_frame(field))
                }
            })
            .collect()
    }

    /// `0x01TOPIC` / `0x00TOPIC` as a subscription message, when subscriptions are on and the
    /// line is one field (hex mode needs no special form: `01...` is already the bytes).
    fn parse_subscription(&self, line: &[u8]) -> Option<Message> {
        if !self.subscriptions || self.hex || contains(line, self.separator()) {
            return None;
        }
        let (flag, topic) = match line.get(..4)? {
            b"0x01" => (1u8, &line[4..]),
            b"0x00" => (0u8, &line[4..]),
            _ => return None,
        };
        let mut frame = vec![flag];
        frame.extend_from_slice(&parse_text_frame(topic));
        Some(Message::from(Bytes::from(frame)))
    }

    /// Formats a message as one output line, without the trailing newline.
    pub(crate) fn format(&self, msg: &Message) -> Vec<u8> {
        let sep = self.separator();
        let mut out = Vec::with_capacity(msg.byte_len() + msg.len() * sep.len());
        if let [frame] = msg.frames() {
            if let (true, false, Some(&flag @ (0 | 1))) =
                (self.subscriptions, self.hex, frame.first())
            {
                out.extend_from_slice(if flag == 1 { b"0x01" } else { b"0x00" });
                self.push_frame(&mut out, &frame[1..], sep);
                return out;
            }
        }
        for (i, frame) in msg.frames().iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(sep);
            }
            self.push_frame(&mut out, frame, sep);
        }
        out
    }

    fn push_frame(&self, out: &mut Vec<u8>, frame: &[u8], sep: &[u8]) {
        if self.hex {
            push_hex(out, frame);
        } else if prints_as_text(frame, sep, self.terminator) {
            out.extend_from_slice(frame);
        } else {
            out.extend_from_slice(b"0x");
            push_hex(out, frame);
        }
    }
}

/// Why an input line could not be turned into a message (only with `--hex`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameError {
    /// 1-based index of the bad frame on the line.
    frame: usize,
    kind: HexError,
}

/// What is wrong with a hex field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HexError {
    /// An odd number of digits.
    OddLength,
    /// A byte that is not a hex digit.
    BadDigit(u8),
}

/// Parses a frame given as text: `0x` followed by an even, non-zero number of hex digits is
/// those bytes; anything else is the text itself.
pub(crate) fn parse_text_frame(field: &[u8]) -> Bytes {
    if is_hex_literal(field) {
        if let Ok(bytes) = parse_hex(&field[2..]) {
            return Bytes::from(bytes);
        }
    }
    Bytes::copy_from_slice(field)
}

/// Removes a trailing `\n` or `\r\n`.
pub(crate) fn strip_line_end(line: &mut Vec<u8>) {
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
}

/// Whether a frame can be printed as itself and read back unchanged. With NUL-terminated
/// messages (`-0`), newlines are text.
fn prints_as_text(frame: &[u8], sep: &[u8], terminator: u8) -> bool {
    let Ok(text) = std::str::from_utf8(frame) else {
        return false;
    };
    let control = |c: char| c.is_control() && !(terminator == 0 && (c == '\n' || c == '\r'));
    !text.chars().any(control) && !contains(frame, sep) && !is_hex_literal(frame)
}

/// `0x` followed by an even, non-zero number of hex digits.
fn is_hex_literal(field: &[u8]) -> bool {
    match field.strip_prefix(b"0x") {
        Some(digits) => {
            !digits.is_empty() && digits.len() % 2 == 0 && digits.iter().all(u8::is_ascii_hexdigit)
        }
        None => false,
    }
}

fn parse_hex(digits: &[u8]) -> Result<Vec<u8>, HexError> {
    if let Some(&bad) = digits.iter().find(|b| !b.is_ascii_hexdigit()) {
        return Err(HexError::BadDigit(bad));
    }
    if digits.len() % 2 != 0 {
        return Err(HexError::OddLength);
    }
    Ok(digits
        .chunks_exact(2)
        .map(|pair| (nibble(pair[0]) << 4) | nibble(pair[1]))
        .collect())
}

/// The value of an ASCII hex digit (the caller has checked it is one).
fn nibble(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
}

/// Splits on every occurrence of a non-empty delimiter (`a||b` on `|` is `a`, ``, `b`).
fn split<'a>(line: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut fields = Vec::new();
    let mut rest = line;
    while let Some(at) = find(rest, delimiter) {
        fields.push(&rest[..at]);
        rest = &rest[at + delimiter.len()..];
    }
    fields.push(rest);
    fields
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && find(haystack, needle).is_some()
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            HexError::OddLength => write!(f, "frame {}: odd number of hex digits", self.frame),
            HexError::BadDigit(b) => write!(
                f,
                "frame {}: {:?} is not a hex digit",
                self.frame,
                char::from(b)
            ),
        }
    }
}

impl std::error::Error for FrameError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(frames: &[&[u8]]) -> Message {
        frames.iter().map(|f| Bytes::copy_from_slice(f)).collect()
    }

    fn frames(m: &Message) -> Vec<&[u8]> {
        m.frames().iter().map(|f| &f[..]).collect()
    }

    #[test]
    fn without_delimiter_a_line_splits_on_tab() {
        let f = Framing::new(None, false);
        let m = f.parse_line(b"hello|world one").unwrap();
        assert_eq!(frames(&m), [b"hello|world one"]);
        let m = f.parse_line(b"0x0080000001\t\thi").unwrap();
        assert_eq!(frames(&m), [&[0, 0x80, 0, 0, 1][..], b"", b"hi"]);
        // What is printed reads back as the same frames.
        assert_eq!(f.parse_line(&f.format(&m)).unwrap(), m);
    }

    #[test]
    fn subscriptions_are_0x01_topic_both_ways() {
        let f = Framing::new(None, false).with_subscriptions();
        for (line, frame) in [
            (&b"0x01weather"[..], &b"\x01weather"[..]),
            (b"0x00weather", b"\x00weather"),
            (b"0x01", b"\x01"),
            (b"0x010xff00", b"\x01\xff\x00"),
            (b"0x01ab", b"\x01ab"),
        ] {
            let m = f.parse_line(line).unwrap();
            assert_eq!(frames(&m), [frame], "{line:?}");
            assert_eq!(f.format(&m), line);
        }
        // Without the flag, 0x01weather is text.
        let plain = Framing::new(None, false);
        assert_eq!(
            frames(&plain.parse_line(b"0x01weather").unwrap()),
            [b"0x01weather"]
        );
    }

    #[test]
    fn nul_terminated_messages_keep_newlines_as_text() {
        let f = Framing::new(None, false).nul_terminated();
        let m = msg(&[b"two\nlines"]);
        assert_eq!(f.format(&m), b"two\nlines");
        let mut rec = b"a\nb\0".to_vec();
        f.strip_end(&mut rec);
        assert_eq!(rec, b"a\nb");
        assert_eq!(
            Framing::new(None, false).format(&m),
            b"0x74776f0a6c696e6573"
        );
    }

    #[test]
    fn empty_line_is_one_empty_frame() {
        let m = Framing::new(None, false).parse_line(b"").unwrap();
        assert_eq!(frames(&m), [b""]);
        let m = Framing::new(Some("|"), false).parse_line(b"").unwrap();
        assert_eq!(frames(&m), [b""]);
    }

    #[test]
    fn delimiter_splits_every_occurrence() {
        let f = Framing::new(Some("|"), false);
        let m = f.parse_line(b"id||body|").unwrap();
        assert_eq!(frames(&m), [&b"id"[..], b"", b"body", b""]);
        let f = Framing::new(Some("::"), false);
        let m = f.parse_line(b"a::b:c::").unwrap();
        assert_eq!(frames(&m), [&b"a"[..], b"b:c", b""]);
    }

    #[test]
    fn empty_delimiter_means_none() {
        let f = Framing::new(Some(""), false);
        assert_eq!(
            frames(&f.parse_line(b"a b\tc").unwrap()),
            [&b"a b"[..], b"c"]
        );
    }

    #[test]
    fn text_frames_accept_0x_hex() {
        let f = Framing::new(Some("|"), false);
        let m = f
            .parse_line(b"0x0080000001||0xFFfe|0x|0x1|0xzz|x0x00")
            .unwrap();
        assert_eq!(
            frames(&m),
            [
                &[0x00, 0x80, 0x00, 0x00, 0x01][..],
                b"",
                &[0xff, 0xfe],
                b"0x",
                b"0x1",
                b"0xzz",
                b"x0x00",
            ]
        );
    }

    #[test]
    fn hex_mode_parses_every_frame() {
        let f = Framing::new(Some(","), true);
        let m = f.parse_line(b"68656c6c6f,0x00ff,").unwrap();
        assert_eq!(frames(&m), [&b"hello"[..], &[0x00, 0xff], b""]);
    }

    #[test]
    fn hex_mode_reports_bad_frames() {
        let f = Framing::new(Some(","), true);
        let e = f.parse_line(b"00,abc").unwrap_err();
        assert_eq!(e.to_string(), "frame 2: odd number of hex digits");
        let e = Framing::new(None, true).parse_line(b"0g").unwrap_err();
        assert_eq!(e.to_string(), "frame 1: 'g' is not a hex digit");
    }

    #[test]
    fn prints_frames_joined_by_tab_without_delimiter() {
        let f = Framing::new(None, false);
        assert_eq!(f.format(&msg(&[b"a", b"", b"b c"])), b"a\t\tb c");
    }

    #[test]
    fn prints_frames_joined_by_delimiter() {
        let f = Framing::new(Some("|"), false);
        assert_eq!(f.format(&msg(&[b"a", b"", b"b"])), b"a||b");
        assert_eq!(f.format(&Message::new()), b"");
    }

    #[test]
    fn prints_binary_and_ambiguous_frames_as_hex() {
        let f = Framing::new(Some("|"), false);
        let m = msg(&[
            &[0x00, 0x80, 0x00, 0x00, 0x01],
            b"a|b",
            b"0x12",
            b"tab\there",
            &[0xff],
            "héllo ✓".as_bytes(),
            b"0x",
        ]);
        assert_eq!(
            String::from_utf8(f.format(&m)).unwrap(),
            "0x0080000001|0x617c62|0x30783132|0x7461620968657265|0xff|héllo ✓|0x"
        );
    }

    #[test]
    fn hex_mode_prints_every_frame_in_hex() {
        let f = Framing::new(None, true);
        assert_eq!(f.format(&msg(&[b"hi", &[0xab], b""])), b"6869\tab\t");
    }

    #[test]
    fn printed_lines_read_back_as_the_same_frames() {
        let samples = [
            msg(&[&[0x00, 0x80, 0x00, 0x00, 0x01], b"", b"hello"]),
            msg(&[b"0xab", b"a|b", b"\n\r", b"", "✓".as_bytes()]),
            msg(&[&[0xff, 0x00], b"0x", b"0x0"]),
        ];
        for delimiter in ["|", "\t", "::"] {
            for hex in [false, true] {
                let f = Framing::new(Some(delimiter), hex);
                for m in &samples {
                    let line = f.format(m);
                    assert!(!line.contains(&b'\n'), "{line:?}");
                    assert_eq!(&f.parse_line(&line).unwrap(), m, "{delimiter:?} {hex}");
                }
            }
        }
    }

    #[test]
    fn strips_lf_and_crlf() {
        for (input, want) in [
            (&b"a\n"[..], &b"a"[..]),
            (b"a\r\n", b"a"),
            (b"a", b"a"),
            (b"a\r", b"a\r"),
            (b"\n", b""),
        ] {
            let mut line = input.to_vec();
            strip_line_end(&mut line);
            assert_eq!(line, want);
        }
    }
}
