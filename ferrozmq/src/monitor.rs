//! Monitor events: what happens to a socket's endpoints and connections (listening, accepted,
//! connected, handshake results, disconnections), delivered to any number of subscribers.

/// The monitor subscribers of one socket. The engine reports events through it.
#[derive(Debug, Default)]
pub(crate) struct MonitorHub {}

impl MonitorHub {
    pub(crate) fn new() -> Self {
        Self::default()
    }
}
