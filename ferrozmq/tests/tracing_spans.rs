//! Connections log inside a `tracing` span with their endpoint and peer, so a user who turns
//! on `tracing` sees which connection's handshake failed. A minimal subscriber (no extra
//! dependency) records each span's fields and each event with its parent span's fields.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ferrozmq::{Context, SocketType};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Default)]
struct Captured {
    spans: HashMap<u64, HashMap<String, String>>,
    /// (message and fields, fields of the explicit parent span).
    events: Vec<(HashMap<String, String>, HashMap<String, String>)>,
}

#[derive(Clone, Default)]
struct Capture {
    next: Arc<AtomicU64>,
    data: Arc<Mutex<Captured>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        self.0.insert(field.name().to_owned(), s);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("ferrozmq")
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.data.lock().unwrap().spans.insert(id, fields);
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut data = self.data.lock().unwrap();
        if let Some(fields) = data.spans.get_mut(&span.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        // The explicit parent, else the span this thread is in.
        let parent = event
            .parent()
            .map(Id::into_u64)
            .or_else(|| CURRENT.with(|c| c.borrow().last().copied()));
        let mut data = self.data.lock().unwrap();
        let parent = parent
            .and_then(|p| data.spans.get(&p).cloned())
            .unwrap_or_default();
        data.events.push((fields, parent));
    }
    fn enter(&self, span: &Id) {
        CURRENT.with(|c| c.borrow_mut().push(span.into_u64()));
    }
    fn exit(&self, _span: &Id) {
        CURRENT.with(|c| c.borrow_mut().pop());
    }
}

thread_local! {
    static CURRENT: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[test]
fn a_failed_handshake_is_logged_in_the_span_of_its_connection() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(capture.clone()).unwrap();

    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut raw = std::net::TcpStream::connect(&endpoint["tcp://".len()..]).unwrap();
    let peer = format!("tcp://{}", raw.local_addr().unwrap());
    // A ZMTP signature start (0xFF), then a tenth byte without bit 0: not a greeting.
    raw.write_all(&[0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0, 0])
        .unwrap();
    // The connection is closed after the failure was logged.
    let mut rest = Vec::new();
    let _ = raw.read_to_end(&mut rest);

    // And a good connection: connected and handshake succeeded, in the connector's span.
    let push = ctx.socket(SocketType::Push);
    push.connect(&endpoint).unwrap();
    push.send("ok").unwrap();
    pull.recv().unwrap();
    ctx.terminate();

    let data = capture.data.lock().unwrap();
    let failed = data
        .events
        .iter()
        .find(|(fields, _)| {
            fields
                .get("message")
                .is_some_and(|m| m == "handshake failed")
        })
        .unwrap_or_else(|| panic!("no handshake failure logged: {:?}", data.events));
    assert_eq!(failed.1.get("endpoint"), Some(&endpoint), "{failed:?}");
    assert_eq!(failed.1.get("peer"), Some(&peer), "{failed:?}");
    assert_eq!(failed.1.get("origin").map(String::as_str), Some("accepted"));
    assert!(failed.0.contains_key("failure"), "{failed:?}");

    let succeeded: Vec<_> = data
        .events
        .iter()
        .filter(|(fields, _)| {
            fields
                .get("message")
                .is_some_and(|m| m == "handshake succeeded")
        })
        .collect();
    assert!(
        succeeded
            .iter()
            .any(
                |(_, span)| span.get("origin").map(String::as_str) == Some("connected")
                    && span.get("endpoint") == Some(&endpoint)
                    && span.get("peer") == Some(&endpoint)
            ),
        "{succeeded:?}"
    );
}
