//! Typed socket options. [`SocketOption`] sets one; [`Options`] is the full set a socket
//! carries. Integer option numbers exist only at the compatibility edge ([`SocketOption::name`]
//! gives libzmq's name for messages).
//!
//! Defaults follow libzmq, with one deliberate difference: LINGER defaults to 30 seconds rather
//! than forever, so closing a socket whose peer is gone never hangs a program's exit unless the
//! caller asks for it with `Linger(None)`.

use std::time::Duration;

use bytes::Bytes;

use ferrozmq_proto::mechanism::{CurveKeyPair, CurvePublicKey, CurveSecretKey, SecretBytes};
use ferrozmq_proto::session::MechanismConfig;

use crate::error::OptionError;
use crate::SocketType;

/// The security mechanism a socket's options select (libzmq's ZMQ_MECHANISM, read-only: it
/// follows the last CURVE_*/PLAIN_* option set, as in libzmq).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mechanism {
    /// No security (RFC 23 NULL). The default.
    #[default]
    Null,
    /// User name and password in clear text (RFC 24): authentication, no confidentiality.
    Plain,
    /// CurveZMQ (RFC 26): encryption and server (and, with ZAP, client) authentication.
    Curve,
}

/// Every option a socket carries. Read a snapshot with `Socket::options`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Outgoing queue limit per peer, in messages; 0 = unlimited. Default 1000.
    pub sndhwm: usize,
    /// Incoming queue limit per peer, in messages; 0 = unlimited. Default 1000.
    pub rcvhwm: usize,
    /// How long `close` keeps unsent messages; `None` = until sent. Default 30 s.
    pub linger: Option<Duration>,
    /// Time-out of a blocking send; `None` = block. Default `None`.
    pub sndtimeo: Option<Duration>,
    /// Time-out of a blocking receive; `None` = block. Default `None`.
    pub rcvtimeo: Option<Duration>,
    /// First reconnect delay; `None` disables reconnection. Default 100 ms.
    pub reconnect_ivl: Option<Duration>,
    /// Cap of the exponential back-off; `None` = no back-off (always `reconnect_ivl`).
    pub reconnect_ivl_max: Option<Duration>,
    /// Our routing id (sent as `Identity` by REQ, DEALER, ROUTER). Default empty.
    pub routing_id: Bytes,
    /// Largest accepted incoming frame in bytes; `None` = unlimited. Default `None`.
    pub max_msg_size: Option<u64>,
    /// Queue messages only for completed connections. Default false.
    pub immediate: bool,
    /// ZMQ_IPV6: tcp endpoints use IPv6 too. Default false, as libzmq: `tcp://*:PORT` binds
    /// IPv4 only, host and interface names resolve to IPv4 addresses. When true, `*` binds a
    /// dual-stack `[::]` socket (IPv4 and IPv6 where the system allows) and names may resolve
    /// to IPv6. Literal addresses (`tcp://[::1]:5555`) work either way.
    pub ipv6: bool,
    /// Time allowed for the ZMTP handshake; `None` = forever. Default 30 s.
    pub handshake_ivl: Option<Duration>,
    /// Heartbeat PING interval; `None` = off. Default off.
    pub heartbeat_ivl: Option<Duration>,
    /// TTL advertised to peers in PINGs. Default `None`.
    pub heartbeat_ttl: Option<Duration>,
    /// Time without traffic after a PING before the peer is declared dead; default = ivl.
    pub heartbeat_timeout: Option<Duration>,
    /// TCP keep-alive: `None` = OS default, `Some(false)` off, `Some(true)` on.
    pub tcp_keepalive: Option<bool>,
    /// TCP keep-alive idle time before probes.
    pub tcp_keepalive_idle: Option<Duration>,
    /// TCP keep-alive probe interval.
    pub tcp_keepalive_intvl: Option<Duration>,
    /// TCP keep-alive probe count.
    pub tcp_keepalive_cnt: Option<u32>,
    /// ROUTER: unroutable messages fail with `HostUnreachable` instead of being dropped.
    pub router_mandatory: bool,
    /// ROUTER: a new peer with an id in use takes it over instead of being refused.
    pub router_handover: bool,
    /// STREAM: a connection made or lost is delivered as `[routing id, empty]`
    /// (ZMQ_STREAM_NOTIFY, on by default as in libzmq).
    pub stream_notify: bool,
    /// REQ: allow sending a new request before the reply arrived.
    pub req_relaxed: bool,
    /// REQ: prefix requests with an id and drop replies that do not match.
    pub req_correlate: bool,
    /// Routing id to give the next peer connected with `connect` (ROUTER).
    pub connect_routing_id: Option<Bytes>,
    /// Kernel send buffer size (SO_SNDBUF); `None` = OS default.
    pub sndbuf: Option<usize>,
    /// Kernel receive buffer size (SO_RCVBUF); `None` = OS default.
    pub rcvbuf: Option<usize>,
    /// Listen backlog. Default 100.
    pub backlog: u32,
    /// XPUB: deliver every subscription, not only a topic's first. Default false.
    pub xpub_verbose: bool,
    /// XPUB: deliver every subscription and every unsubscription. Default false.
    pub xpub_verboser: bool,
    /// XPUB: subscriptions are delivered but not applied; the user applies them with
    /// `Subscribe`/`Unsubscribe` for the peer that sent the last one. Default false.
    pub xpub_manual: bool,
    /// XPUB: a message sent to every new subscriber when it connects. Default none.
    pub xpub_welcome_msg: Option<Bytes>,
    /// PUB/XPUB: a send waits (or fails with `WouldBlock`) while a matching subscriber's
    /// queue is full, instead of dropping the message for that subscriber. Default false.
    pub xpub_nodrop: bool,
    /// PUB/XPUB/SUB/XSUB: a subscription selects the messages that do NOT start with it.
    pub invert_matching: bool,
    /// Keep only the newest message in each queue (set before bind/connect). Default false.
    pub conflate: bool,
    /// PUB/XPUB: most topics kept per subscriber; further new topics from that peer are
    /// ignored. Default 100,000 (libzmq has no limit); `None` for no limit.
    pub max_subscriptions: Option<usize>,
    /// Speak ZMTP 2.0 or 1.0 to a peer that announces only those (JeroMQ 0.3, libzmq 2.x and
    /// 3.x), as libzmq does. Default true. Legacy peers have no security mechanisms, so a
    /// socket with one never falls back, whatever this says.
    pub legacy_protocols: bool,
    /// The security mechanism (ZMQ_MECHANISM): set by the CURVE_* and PLAIN_* options.
    pub mechanism: Mechanism,
    /// Whether this side is the mechanism's server (ZMQ_CURVE_SERVER, ZMQ_PLAIN_SERVER).
    pub as_server: bool,
    /// ZMQ_CURVE_PUBLICKEY: our long-term public key (derived from the secret key if unset).
    pub curve_public_key: Option<CurvePublicKey>,
    /// ZMQ_CURVE_SECRETKEY: our long-term secret key (zeroised on drop, never printed).
    pub curve_secret_key: Option<CurveSecretKey>,
    /// ZMQ_CURVE_SERVERKEY: the server's public key, for a CURVE client.
    pub curve_server_key: Option<CurvePublicKey>,
    /// ZMQ_PLAIN_USERNAME.
    pub plain_username: Bytes,
    /// ZMQ_PLAIN_PASSWORD (zeroised on drop, never printed).
    pub plain_password: SecretBytes,
    /// ZMQ_ZAP_DOMAIN: sent to the ZAP handler; with NULL, ZAP is asked only if set.
    pub zap_domain: Bytes,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sndhwm: 1000,
            rcvhwm: 1000,
            linger: Some(Duration::from_secs(30)),
            sndtimeo: None,
            rcvtimeo: None,
            reconnect_ivl: Some(Duration::from_millis(100)),
            reconnect_ivl_max: None,
            routing_id: Bytes::new(),
            max_msg_size: None,
            immediate: false,
            ipv6: false,
            handshake_ivl: Some(Duration::from_secs(30)),
            heartbeat_ivl: None,
            heartbeat_ttl: None,
            heartbeat_timeout: None,
            tcp_keepalive: None,
            tcp_keepalive_idle: None,
            tcp_keepalive_intvl: None,
            tcp_keepalive_cnt: None,
            router_mandatory: false,
            router_handover: false,
            stream_notify: true,
            req_relaxed: false,
            req_correlate: false,
            connect_routing_id: None,
            sndbuf: None,
            rcvbuf: None,
            backlog: 100,
            xpub_verbose: false,
            xpub_verboser: false,
            xpub_manual: false,
            max_subscriptions: Some(DEFAULT_MAX_SUBSCRIPTIONS),
            xpub_welcome_msg: None,
            xpub_nodrop: false,
            invert_matching: false,
            conflate: false,
            legacy_protocols: true,
            mechanism: Mechanism::Null,
            as_server: false,
            curve_public_key: None,
            curve_secret_key: None,
            curve_server_key: None,
            plain_username: Bytes::new(),
            plain_password: SecretBytes::default(),
            zap_domain: Bytes::new(),
        }
    }
}

impl Options {
    /// The session's mechanism settings. A CURVE server needs CURVE_SECRETKEY (its public key
    /// is derived); a CURVE client needs CURVE_SERVERKEY and gets a fresh key pair of its own
    /// when CURVE_SECRETKEY is unset. A missing key is replaced by a random one, which no
    /// peer knows: the handshake then fails rather than falling back to no security.
    pub(crate) fn mechanism_config(&self) -> MechanismConfig {
        match (self.mechanism, self.as_server) {
            (Mechanism::Null, _) => MechanismConfig::Null,
            (Mechanism::Plain, true) => MechanismConfig::PlainServer,
            (Mechanism::Plain, false) => MechanismConfig::PlainClient {
                username: self.plain_username.clone(),
                password: self.plain_password.clone(),
            },
            (Mechanism::Curve, true) => MechanismConfig::CurveServer {
                secret: self
                    .curve_secret_key
                    .clone()
                    .unwrap_or_else(|| CurveKeyPair::generate().secret),
            },
            (Mechanism::Curve, false) => {
                let keys = match &self.curve_secret_key {
                    Some(secret) => CurveKeyPair {
                        public: self.curve_public_key.unwrap_or_else(|| secret.public_key()),
                        secret: secret.clone(),
                    },
                    None => CurveKeyPair::generate(),
                };
                MechanismConfig::CurveClient {
                    keys,
                    server_key: self
                        .curve_server_key
                        .unwrap_or_else(|| CurveKeyPair::generate().public),
                }
            }
        }
    }
}

/// One option to set with `Socket::set_option`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketOption {
    /// ZMQ_SNDHWM.
    SndHwm(usize),
    /// ZMQ_RCVHWM.
    RcvHwm(usize),
    /// ZMQ_LINGER (`None` = forever).
    Linger(Option<Duration>),
    /// ZMQ_SNDTIMEO (`None` = block).
    SndTimeo(Option<Duration>),
    /// ZMQ_RCVTIMEO (`None` = block).
    RcvTimeo(Option<Duration>),
    /// ZMQ_RECONNECT_IVL (`None` = never reconnect).
    ReconnectIvl(Option<Duration>),
    /// ZMQ_RECONNECT_IVL_MAX (`None` = no back-off).
    ReconnectIvlMax(Option<Duration>),
    /// ZMQ_ROUTING_ID (at most 255 bytes, must not start with a zero byte).
    RoutingId(Bytes),
    /// ZMQ_MAXMSGSIZE (`None` = unlimited).
    MaxMsgSize(Option<u64>),
    /// ZMQ_IMMEDIATE.
    Immediate(bool),
    /// ZMQ_IPV6 (see [`Options::ipv6`]).
    Ipv6(bool),
    /// ZMQ_HANDSHAKE_IVL (`None` = no limit).
    HandshakeIvl(Option<Duration>),
    /// ZMQ_HEARTBEAT_IVL (`None` = off).
    HeartbeatIvl(Option<Duration>),
    /// ZMQ_HEARTBEAT_TTL.
    HeartbeatTtl(Option<Duration>),
    /// ZMQ_HEARTBEAT_TIMEOUT.
    HeartbeatTimeout(Option<Duration>),
    /// ZMQ_TCP_KEEPALIVE.
    TcpKeepalive(Option<bool>),
    /// ZMQ_TCP_KEEPALIVE_IDLE.
    TcpKeepaliveIdle(Option<Duration>),
    /// ZMQ_TCP_KEEPALIVE_INTVL.
    TcpKeepaliveIntvl(Option<Duration>),
    /// ZMQ_TCP_KEEPALIVE_CNT.
    TcpKeepaliveCnt(Option<u32>),
    /// ZMQ_ROUTER_MANDATORY.
    RouterMandatory(bool),
    /// ZMQ_ROUTER_HANDOVER.
    RouterHandover(bool),
    /// ZMQ_STREAM_NOTIFY.
    StreamNotify(bool),
    /// ZMQ_REQ_RELAXED.
    ReqRelaxed(bool),
    /// ZMQ_REQ_CORRELATE.
    ReqCorrelate(bool),
    /// ZMQ_CONNECT_ROUTING_ID.
    ConnectRoutingId(Option<Bytes>),
    /// ZMQ_SNDBUF.
    SndBuf(Option<usize>),
    /// ZMQ_RCVBUF.
    RcvBuf(Option<usize>),
    /// ZMQ_BACKLOG.
    Backlog(u32),
    /// ZMQ_SUBSCRIBE: SUB/XSUB subscribe to messages starting with these bytes (empty: all).
    /// Counted: each subscribe needs its own unsubscribe. On an XPUB_MANUAL socket, applies
    /// to the peer whose subscription was received last.
    Subscribe(Bytes),
    /// ZMQ_UNSUBSCRIBE: undoes one `Subscribe`.
    Unsubscribe(Bytes),
    /// ZMQ_XPUB_VERBOSE.
    XpubVerbose(bool),
    /// ZMQ_XPUB_VERBOSER.
    XpubVerboser(bool),
    /// ZMQ_XPUB_MANUAL.
    XpubManual(bool),
    /// ZMQ_XPUB_WELCOME_MSG (`None` = no welcome).
    XpubWelcomeMsg(Option<Bytes>),
    /// ZMQ_XPUB_NODROP.
    XpubNodrop(bool),
    /// ZMQ_INVERT_MATCHING.
    InvertMatching(bool),
    /// ZMQ_CONFLATE.
    Conflate(bool),
    /// PUB/XPUB: most topics kept per subscriber (ferrozmq's own; libzmq has none).
    MaxSubscriptions(Option<usize>),
    /// Accept peers that speak only ZMTP 2.0 or 1.0 (ferrozmq's own; libzmq always does).
    /// `false` refuses them, with a `HandshakeFailed` monitor event that says so. Applies
    /// to connections made after it is set.
    LegacyProtocols(bool),
    /// ZMQ_CURVE_SERVER: `true` makes this socket a CURVE server (needs CURVE_SECRETKEY);
    /// `false` returns to NULL.
    CurveServer(bool),
    /// ZMQ_CURVE_PUBLICKEY: 32 bytes or 40 Z85 characters.
    CurvePublicKey(Bytes),
    /// ZMQ_CURVE_SECRETKEY: 32 bytes or 40 Z85 characters.
    CurveSecretKey(Bytes),
    /// ZMQ_CURVE_SERVERKEY: 32 bytes or 40 Z85 characters; makes this socket a CURVE client.
    CurveServerKey(Bytes),
    /// ZMQ_PLAIN_SERVER: `true` makes this socket a PLAIN server; `false` returns to NULL.
    PlainServer(bool),
    /// ZMQ_PLAIN_USERNAME: makes this socket a PLAIN client (empty: back to NULL).
    PlainUsername(Bytes),
    /// ZMQ_PLAIN_PASSWORD: makes this socket a PLAIN client.
    PlainPassword(SecretBytes),
    /// ZMQ_ZAP_DOMAIN (at most 255 bytes).
    ZapDomain(Bytes),
}

impl SocketOption {
    /// libzmq's name of the option, e.g. `"ZMQ_SNDHWM"`.
    pub fn name(&self) -> &'static str {
        match self {
            SocketOption::SndHwm(_) => "ZMQ_SNDHWM",
            SocketOption::RcvHwm(_) => "ZMQ_RCVHWM",
            SocketOption::Linger(_) => "ZMQ_LINGER",
            SocketOption::SndTimeo(_) => "ZMQ_SNDTIMEO",
            SocketOption::RcvTimeo(_) => "ZMQ_RCVTIMEO",
            SocketOption::ReconnectIvl(_) => "ZMQ_RECONNECT_IVL",
            SocketOption::ReconnectIvlMax(_) => "ZMQ_RECONNECT_IVL_MAX",
            SocketOption::RoutingId(_) => "ZMQ_ROUTING_ID",
            SocketOption::MaxMsgSize(_) => "ZMQ_MAXMSGSIZE",
            SocketOption::Immediate(_) => "ZMQ_IMMEDIATE",
            SocketOption::Ipv6(_) => "ZMQ_IPV6",
            SocketOption::HandshakeIvl(_) => "ZMQ_HANDSHAKE_IVL",
            SocketOption::HeartbeatIvl(_) => "ZMQ_HEARTBEAT_IVL",
            SocketOption::HeartbeatTtl(_) => "ZMQ_HEARTBEAT_TTL",
            SocketOption::HeartbeatTimeout(_) => "ZMQ_HEARTBEAT_TIMEOUT",
            SocketOption::TcpKeepalive(_) => "ZMQ_TCP_KEEPALIVE",
            SocketOption::TcpKeepaliveIdle(_) => "ZMQ_TCP_KEEPALIVE_IDLE",
            SocketOption::TcpKeepaliveIntvl(_) => "ZMQ_TCP_KEEPALIVE_INTVL",
            SocketOption::TcpKeepaliveCnt(_) => "ZMQ_TCP_KEEPALIVE_CNT",
            SocketOption::RouterMandatory(_) => "ZMQ_ROUTER_MANDATORY",
            SocketOption::RouterHandover(_) => "ZMQ_ROUTER_HANDOVER",
            SocketOption::StreamNotify(_) => "ZMQ_STREAM_NOTIFY",
            SocketOption::ReqRelaxed(_) => "ZMQ_REQ_RELAXED",
            SocketOption::ReqCorrelate(_) => "ZMQ_REQ_CORRELATE",
            SocketOption::ConnectRoutingId(_) => "ZMQ_CONNECT_ROUTING_ID",
            SocketOption::SndBuf(_) => "ZMQ_SNDBUF",
            SocketOption::RcvBuf(_) => "ZMQ_RCVBUF",
            SocketOption::Backlog(_) => "ZMQ_BACKLOG",
            SocketOption::Subscribe(_) => "ZMQ_SUBSCRIBE",
            SocketOption::Unsubscribe(_) => "ZMQ_UNSUBSCRIBE",
            SocketOption::XpubVerbose(_) => "ZMQ_XPUB_VERBOSE",
            SocketOption::XpubVerboser(_) => "ZMQ_XPUB_VERBOSER",
            SocketOption::XpubManual(_) => "ZMQ_XPUB_MANUAL",
            SocketOption::XpubWelcomeMsg(_) => "ZMQ_XPUB_WELCOME_MSG",
            SocketOption::XpubNodrop(_) => "ZMQ_XPUB_NODROP",
            SocketOption::InvertMatching(_) => "ZMQ_INVERT_MATCHING",
            SocketOption::Conflate(_) => "ZMQ_CONFLATE",
            SocketOption::MaxSubscriptions(_) => "FERROZMQ_MAX_SUBSCRIPTIONS",
            SocketOption::LegacyProtocols(_) => "FERROZMQ_LEGACY_PROTOCOLS",
            SocketOption::CurveServer(_) => "ZMQ_CURVE_SERVER",
            SocketOption::CurvePublicKey(_) => "ZMQ_CURVE_PUBLICKEY",
            SocketOption::CurveSecretKey(_) => "ZMQ_CURVE_SECRETKEY",
            SocketOption::CurveServerKey(_) => "ZMQ_CURVE_SERVERKEY",
            SocketOption::PlainServer(_) => "ZMQ_PLAIN_SERVER",
            SocketOption::PlainUsername(_) => "ZMQ_PLAIN_USERNAME",
            SocketOption::PlainPassword(_) => "ZMQ_PLAIN_PASSWORD",
            SocketOption::ZapDomain(_) => "ZMQ_ZAP_DOMAIN",
        }
    }
}

impl SocketOption {
    /// Whether the option applies to sockets of type `socket_type`; `Socket::set_option`
    /// refuses one that does not with [`OptionError::NotApplicable`] (libzmq's EINVAL).
    ///
    /// The rule follows libzmq's split between generic options (`options_t::setsockopt`,
    /// accepted by every type: HWMs, LINGER, ROUTING_ID, CONFLATE, ...) and the ones a socket
    /// type handles itself (`xsetsockopt`): ROUTER_* on ROUTER, REQ_* on REQ, SUBSCRIBE on
    /// SUB, XSUB and XPUB (XPUB_MANUAL), XPUB_* on PUB and XPUB (libzmq's PUB is an XPUB),
    /// INVERT_MATCHING on the four publish-subscribe types. One deliberate difference: libzmq's
    /// REP is built on its ROUTER and so takes ROUTER_MANDATORY and ROUTER_HANDOVER without
    /// effect; ferrozmq refuses them there, since they would do nothing.
    pub fn applies_to(&self, socket_type: SocketType) -> bool {
        use SocketType::*;
        match self {
            SocketOption::RouterMandatory(_)
            | SocketOption::RouterHandover(_)
            | SocketOption::ConnectRoutingId(_) => socket_type == Router,
            SocketOption::ReqRelaxed(_) | SocketOption::ReqCorrelate(_) => socket_type == Req,
            SocketOption::StreamNotify(_) => socket_type == Stream,
            SocketOption::Subscribe(_) | SocketOption::Unsubscribe(_) => {
                matches!(socket_type, Sub | XSub | XPub)
            }
            SocketOption::XpubVerbose(_)
            | SocketOption::XpubVerboser(_)
            | SocketOption::XpubManual(_)
            | SocketOption::XpubWelcomeMsg(_)
            | SocketOption::XpubNodrop(_)
            | SocketOption::MaxSubscriptions(_) => matches!(socket_type, Pub | XPub),
            SocketOption::InvertMatching(_) => matches!(socket_type, Pub | XPub | Sub | XSub),
            _ => true,
        }
    }
}

impl Options {
    /// Applies one option after validating it.
    pub(crate) fn apply(&mut self, opt: SocketOption) -> Result<(), OptionError> {
        match opt {
            SocketOption::SndHwm(v) => self.sndhwm = v,
            SocketOption::RcvHwm(v) => self.rcvhwm = v,
            SocketOption::Linger(v) => self.linger = v,
            SocketOption::SndTimeo(v) => self.sndtimeo = v,
            SocketOption::RcvTimeo(v) => self.rcvtimeo = v,
            SocketOption::ReconnectIvl(v) => self.reconnect_ivl = v,
            SocketOption::ReconnectIvlMax(v) => self.reconnect_ivl_max = v,
            SocketOption::RoutingId(id) => {
                validate_routing_id(&id, "ZMQ_ROUTING_ID")?;
                self.routing_id = id;
            }
            SocketOption::MaxMsgSize(v) => self.max_msg_size = v,
            SocketOption::Immediate(v) => self.immediate = v,
            SocketOption::Ipv6(v) => self.ipv6 = v,
            SocketOption::HandshakeIvl(v) => self.handshake_ivl = v,
            SocketOption::HeartbeatIvl(v) => self.heartbeat_ivl = v,
            SocketOption::HeartbeatTtl(v) => {
                // RFC 37 §"PING": the TTL travels in deciseconds in 16 bits.
                if v.is_some_and(|d| d.as_millis() > 6_553_500) {
                    return Err(OptionError::InvalidValue("ZMQ_HEARTBEAT_TTL"));
                }
                self.heartbeat_ttl = v;
            }
            SocketOption::HeartbeatTimeout(v) => self.heartbeat_timeout = v,
            SocketOption::TcpKeepalive(v) => self.tcp_keepalive = v,
            SocketOption::TcpKeepaliveIdle(v) => self.tcp_keepalive_idle = v,
            SocketOption::TcpKeepaliveIntvl(v) => self.tcp_keepalive_intvl = v,
            SocketOption::TcpKeepaliveCnt(v) => self.tcp_keepalive_cnt = v,
            SocketOption::RouterMandatory(v) => self.router_mandatory = v,
            SocketOption::RouterHandover(v) => self.router_handover = v,
            SocketOption::StreamNotify(v) => self.stream_notify = v,
            SocketOption::ReqRelaxed(v) => self.req_relaxed = v,
            SocketOption::ReqCorrelate(v) => self.req_correlate = v,
            SocketOption::ConnectRoutingId(id) => {
                if let Some(id) = &id {
                    validate_routing_id(id, "ZMQ_CONNECT_ROUTING_ID")?;
                }
                self.connect_routing_id = id;
            }
            SocketOption::SndBuf(v) => self.sndbuf = v,
            SocketOption::RcvBuf(v) => self.rcvbuf = v,
            SocketOption::Backlog(v) => self.backlog = v,
            SocketOption::XpubVerbose(v) => self.xpub_verbose = v,
            SocketOption::XpubVerboser(v) => self.xpub_verboser = v,
            SocketOption::XpubManual(v) => self.xpub_manual = v,
            SocketOption::XpubWelcomeMsg(v) => self.xpub_welcome_msg = v,
            SocketOption::XpubNodrop(v) => self.xpub_nodrop = v,
            SocketOption::InvertMatching(v) => self.invert_matching = v,
            SocketOption::Conflate(v) => self.conflate = v,
            SocketOption::MaxSubscriptions(v) => self.max_subscriptions = v,
            SocketOption::LegacyProtocols(v) => self.legacy_protocols = v,
            // libzmq: each security option switches the mechanism (the last one set wins).
            SocketOption::CurveServer(on) => {
                self.mechanism = if on {
                    Mechanism::Curve
                } else {
                    Mechanism::Null
                };
                self.as_server = on;
            }
            SocketOption::CurvePublicKey(key) => {
                self.curve_public_key = Some(
                    CurvePublicKey::from_bytes_or_z85(&key)
                        .map_err(|_| OptionError::InvalidValue("ZMQ_CURVE_PUBLICKEY"))?,
                );
                self.mechanism = Mechanism::Curve;
            }
            SocketOption::CurveSecretKey(key) => {
                let secret = CurveSecretKey::from_bytes_or_z85(&key)
                    .map_err(|_| OptionError::InvalidValue("ZMQ_CURVE_SECRETKEY"))?;
                // Derived here, once: every connection's handshake gets a copy of the key
                // with its public half already known.
                let _ = secret.public_key();
                self.curve_secret_key = Some(secret);
                self.mechanism = Mechanism::Curve;
            }
            SocketOption::CurveServerKey(key) => {
                let invalid = || OptionError::InvalidValue("ZMQ_CURVE_SERVERKEY");
                let key = CurvePublicKey::from_bytes_or_z85(&key).map_err(|_| invalid())?;
                // A point of small order (all zeros, say) would let anyone pose as the server.
                if key.is_small_order() {
                    return Err(invalid());
                }
                self.curve_server_key = Some(key);
                self.mechanism = Mechanism::Curve;
                self.as_server = false;
            }
            SocketOption::PlainServer(on) => {
                self.mechanism = if on {
                    Mechanism::Plain
                } else {
                    Mechanism::Null
                };
                self.as_server = on;
            }
            SocketOption::PlainUsername(name) => {
                if name.len() > 255 {
                    return Err(OptionError::InvalidValue("ZMQ_PLAIN_USERNAME"));
                }
                self.mechanism = if name.is_empty() {
                    Mechanism::Null
                } else {
                    Mechanism::Plain
                };
                self.plain_username = name;
                self.as_server = false;
            }
            SocketOption::PlainPassword(password) => {
                if password.expose().len() > 255 {
                    return Err(OptionError::InvalidValue("ZMQ_PLAIN_PASSWORD"));
                }
                self.plain_password = password;
                self.mechanism = Mechanism::Plain;
                self.as_server = false;
            }
            SocketOption::ZapDomain(domain) => {
                if domain.len() > 255 {
                    return Err(OptionError::InvalidValue("ZMQ_ZAP_DOMAIN"));
                }
                self.zap_domain = domain;
            }
            // Actions on the socket's subscriptions, not settings: the socket applies them.
            SocketOption::Subscribe(_) | SocketOption::Unsubscribe(_) => {
                return Err(OptionError::NotApplicable(opt.name()));
            }
        }
        Ok(())
    }
}

/// Default MAX_SUBSCRIPTIONS: far above what real subscribers use, low enough that one peer's
/// subscriptions cost at most tens of MiB (about 154 B per topic plus its bytes).
const DEFAULT_MAX_SUBSCRIPTIONS: usize = 100_000;

/// RFC 23 §"The Identity Property": 0 to 255 bytes; libzmq reserves ids that start with a
/// zero byte for the ones it generates.
fn validate_routing_id(id: &[u8], name: &'static str) -> Result<(), OptionError> {
    if id.len() > 255 || id.first() == Some(&0) {
        return Err(OptionError::InvalidValue(name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_id_rules() {
        let mut o = Options::default();
        assert!(o
            .apply(SocketOption::RoutingId(Bytes::from_static(b"\0x")))
            .is_err());
        assert!(o
            .apply(SocketOption::RoutingId(Bytes::from(vec![b'a'; 256])))
            .is_err());
        o.apply(SocketOption::RoutingId(Bytes::from_static(b"me")))
            .unwrap();
        assert_eq!(&o.routing_id[..], b"me");
    }
}
