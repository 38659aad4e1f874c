//! Fuzzes the greeting decoder; a decoded greeting must survive an encode/decode round trip.
#![no_main]

use bytes::BytesMut;
use ferrozmq_proto::codec::Greeting;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(greeting)) = Greeting::decode(data) {
        let mut out = BytesMut::new();
        greeting.encode(&mut out);
        assert_eq!(Greeting::decode(&out), Ok(Some(greeting)));
    }
});
