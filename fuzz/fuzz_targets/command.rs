//! Fuzzes the command and metadata decoders; a decoded command must survive a round trip
//! through a whole command frame.
#![no_main]

use bytes::{Bytes, BytesMut};
use ferrozmq_proto::codec::{decode_frame, Command, FrameLimits, Metadata};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Metadata::decode(Bytes::copy_from_slice(data));
    if let Ok(command) = Command::decode(Bytes::copy_from_slice(data)) {
        let mut out = BytesMut::new();
        command.encode(&mut out);
        let frame = decode_frame(&mut out, &FrameLimits::UNLIMITED)
            .ok()
            .flatten()
            .map(|frame| Command::decode(frame.body));
        assert_eq!(frame, Some(Ok(command)));
    }
});
