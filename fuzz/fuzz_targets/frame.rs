//! Fuzzes the frame decoder: arbitrary bytes, a limit taken from the first byte; every frame
//! decoded must re-encode to a frame that decodes the same.
#![no_main]

use bytes::BytesMut;
use ferrozmq_proto::codec::{decode_frame, encode_frame, FrameLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&limit, rest)) = data.split_first() else {
        return;
    };
    let limits = FrameLimits {
        message: u64::from(limit) * 4,
        command: u64::from(limit) * 2,
    };
    let mut buf = BytesMut::from(rest);
    while let Ok(Some(frame)) = decode_frame(&mut buf, &limits) {
        let mut out = BytesMut::new();
        encode_frame(&mut out, frame.flags, &frame.body);
        let again = decode_frame(&mut out, &FrameLimits::UNLIMITED);
        assert_eq!(again, Ok(Some(frame)));
    }
});
