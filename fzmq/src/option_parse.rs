//! `--option NAME=VALUE` (`-o`): any socket option the library supports, named as libzmq
//! names it (`SNDHWM`, `ZMQ_SNDHWM`, `sndhwm`, `tcp-keepalive` all work) and valued in
//! libzmq's units and special values (milliseconds, -1 for "none"), as zmqc's `-o`.

use std::time::Duration;

use ferrozmq::{Bytes, SocketOption};

use crate::format::parse_text_frame;

/// The kinds of value an option takes, with libzmq's conventions.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A count (messages, bytes).
    Count,
    /// Milliseconds; -1 = none (forever / never / off).
    MsOrMinusOne,
    /// Milliseconds; 0 = none (off / no limit).
    MsOrZero,
    /// Seconds; -1 = the OS default (TCP keep-alive timings).
    SecsOrMinusOne,
    /// 0 or 1 (also false / true).
    Flag,
    /// Bytes, as text or 0x-hex.
    Bytes,
}

/// Every option `-o` takes: libzmq's name without `ZMQ_`, and its kind.
const OPTIONS: &[(&str, Kind)] = &[
    ("SNDHWM", Kind::Count),
    ("RCVHWM", Kind::Count),
    ("LINGER", Kind::MsOrMinusOne),
    ("SNDTIMEO", Kind::MsOrMinusOne),
    ("RCVTIMEO", Kind::MsOrMinusOne),
    ("RECONNECT_IVL", Kind::MsOrMinusOne),
    ("RECONNECT_IVL_MAX", Kind::MsOrZero),
    ("ROUTING_ID", Kind::Bytes),
    ("IDENTITY", Kind::Bytes),
    ("MAXMSGSIZE", Kind::MsOrMinusOne),
    ("IMMEDIATE", Kind::Flag),
    ("IPV6", Kind::Flag),
    ("HANDSHAKE_IVL", Kind::MsOrZero),
    ("HEARTBEAT_IVL", Kind::MsOrZero),
    ("HEARTBEAT_TTL", Kind::MsOrZero),
    ("HEARTBEAT_TIMEOUT", Kind::MsOrZero),
    ("TCP_KEEPALIVE", Kind::MsOrMinusOne),
    ("TCP_KEEPALIVE_IDLE", Kind::SecsOrMinusOne),
    ("TCP_KEEPALIVE_INTVL", Kind::SecsOrMinusOne),
    ("TCP_KEEPALIVE_CNT", Kind::MsOrMinusOne),
    ("ROUTER_MANDATORY", Kind::Flag),
    ("ROUTER_HANDOVER", Kind::Flag),
    ("STREAM_NOTIFY", Kind::Flag),
    ("REQ_RELAXED", Kind::Flag),
    ("REQ_CORRELATE", Kind::Flag),
    ("CONNECT_ROUTING_ID", Kind::Bytes),
    ("SNDBUF", Kind::MsOrMinusOne),
    ("RCVBUF", Kind::MsOrMinusOne),
    ("BACKLOG", Kind::Count),
    ("SUBSCRIBE", Kind::Bytes),
    ("UNSUBSCRIBE", Kind::Bytes),
    ("XPUB_VERBOSE", Kind::Flag),
    ("XPUB_VERBOSER", Kind::Flag),
    ("XPUB_MANUAL", Kind::Flag),
    ("XPUB_WELCOME_MSG", Kind::Bytes),
    ("XPUB_NODROP", Kind::Flag),
    ("INVERT_MATCHING", Kind::Flag),
    ("CONFLATE", Kind::Flag),
    ("MAX_SUBSCRIPTIONS", Kind::Count),
];

/// Parses `NAME=VALUE` into an option (clap value parser).
pub(crate) fn parse_option(s: &str) -> Result<SocketOption, String> {
    if s.eq_ignore_ascii_case("help") {
        return Err(format!("the options are: {}", names().join(", ")));
    }
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, e.g. SNDHWM=100, not {s:?}"))?;
    let upper = name.trim().to_ascii_uppercase().replace('-', "_");
    let key = upper.strip_prefix("ZMQ_").unwrap_or(&upper);
    let key = key.strip_prefix("FERROZMQ_").unwrap_or(key);
    let value = value.trim();
    let bad = |what: &str| format!("{key}: {value:?} is not {what}");
    let int = || value.parse::<i64>().map_err(|_| bad("an integer"));
    let count = || value.parse::<u64>().map_err(|_| bad("a count (0 or more)"));
    let usize_count = || count().and_then(|n| usize::try_from(n).map_err(|_| bad("in range")));
    let minus_one = |what: &str| -> Result<Option<u64>, String> {
        match int()? {
            -1 => Ok(None),
            v => u64::try_from(v).map(Some).map_err(|_| bad(what)),
        }
    };
    let ms_minus_one = || -> Result<Option<Duration>, String> {
        Ok(minus_one("milliseconds or -1")?.map(Duration::from_millis))
    };
    let ms_zero = || -> Result<Option<Duration>, String> {
        Ok(Some(count()?).filter(|&v| v > 0).map(Duration::from_millis))
    };
    let secs_minus_one = || -> Result<Option<Duration>, String> {
        Ok(minus_one("seconds or -1")?.map(Duration::from_secs))
    };
    let flag = || match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Ok(true),
        "0" | "false" | "off" | "no" => Ok(false),
        _ => Err(bad("0 or 1")),
    };
    let bytes = || -> Bytes { parse_text_frame(value.as_bytes()) };
    Ok(match key {
        "SNDHWM" => SocketOption::SndHwm(usize_count()?),
        "RCVHWM" => SocketOption::RcvHwm(usize_count()?),
        "LINGER" => SocketOption::Linger(ms_minus_one()?),
        "SNDTIMEO" => SocketOption::SndTimeo(ms_minus_one()?),
        "RCVTIMEO" => SocketOption::RcvTimeo(ms_minus_one()?),
        "RECONNECT_IVL" => SocketOption::ReconnectIvl(ms_minus_one()?),
        "RECONNECT_IVL_MAX" => SocketOption::ReconnectIvlMax(ms_zero()?),
        "ROUTING_ID" | "IDENTITY" => SocketOption::RoutingId(bytes()),
        "MAXMSGSIZE" => SocketOption::MaxMsgSize(minus_one("bytes or -1")?),
        "IMMEDIATE" => SocketOption::Immediate(flag()?),
        "IPV6" => SocketOption::Ipv6(flag()?),
        "HANDSHAKE_IVL" => SocketOption::HandshakeIvl(ms_zero()?),
        "HEARTBEAT_IVL" => SocketOption::HeartbeatIvl(ms_zero()?),
        "HEARTBEAT_TTL" => SocketOption::HeartbeatTtl(ms_zero()?),
        "HEARTBEAT_TIMEOUT" => SocketOption::HeartbeatTimeout(ms_zero()?),
        "TCP_KEEPALIVE" => SocketOption::TcpKeepalive(match int()? {
            -1 => None,
            0 => Some(false),
            1 => Some(true),
            _ => return Err(bad("-1, 0 or 1")),
        }),
        "TCP_KEEPALIVE_IDLE" => SocketOption::TcpKeepaliveIdle(secs_minus_one()?),
        "TCP_KEEPALIVE_INTVL" => SocketOption::TcpKeepaliveIntvl(secs_minus_one()?),
        "TCP_KEEPALIVE_CNT" => SocketOption::TcpKeepaliveCnt(
            minus_one("a count or -1")?
                .map(u32::try_from)
                .transpose()
                .map_err(|_| bad("in range"))?,
        ),
        "ROUTER_MANDATORY" => SocketOption::RouterMandatory(flag()?),
        "ROUTER_HANDOVER" => SocketOption::RouterHandover(flag()?),
        "STREAM_NOTIFY" => SocketOption::StreamNotify(flag()?),
        "REQ_RELAXED" => SocketOption::ReqRelaxed(flag()?),
        "REQ_CORRELATE" => SocketOption::ReqCorrelate(flag()?),
        "CONNECT_ROUTING_ID" => SocketOption::ConnectRoutingId(Some(bytes())),
        "SNDBUF" | "RCVBUF" => {
            let size = minus_one("bytes or -1")?
                .filter(|&v| v > 0)
                .map(usize::try_from)
                .transpose()
                .map_err(|_| bad("in range"))?;
            if key == "SNDBUF" {
                SocketOption::SndBuf(size)
            } else {
                SocketOption::RcvBuf(size)
            }
        }
        "BACKLOG" => SocketOption::Backlog(u32::try_from(count()?).map_err(|_| bad("in range"))?),
        "SUBSCRIBE" => SocketOption::Subscribe(bytes()),
        "UNSUBSCRIBE" => SocketOption::Unsubscribe(bytes()),
        "XPUB_VERBOSE" => SocketOption::XpubVerbose(flag()?),
        "XPUB_VERBOSER" => SocketOption::XpubVerboser(flag()?),
        "XPUB_MANUAL" => SocketOption::XpubManual(flag()?),
        "XPUB_WELCOME_MSG" => SocketOption::XpubWelcomeMsg(Some(bytes()).filter(|b| !b.is_empty())),
        "XPUB_NODROP" => SocketOption::XpubNodrop(flag()?),
        "INVERT_MATCHING" => SocketOption::InvertMatching(flag()?),
        "CONFLATE" => SocketOption::Conflate(flag()?),
        "MAX_SUBSCRIPTIONS" => {
            SocketOption::MaxSubscriptions(Some(usize_count()?).filter(|&n| n > 0))
        }
        _ => {
            return Err(format!(
                "unknown option {name:?}; the options are: {}",
                names().join(", ")
            ))
        }
    })
}

fn names() -> Vec<&'static str> {
    OPTIONS.iter().map(|(name, _)| *name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One example value per kind.
    fn example(kind: Kind) -> &'static str {
        match kind {
            Kind::Count => "7",
            Kind::MsOrMinusOne | Kind::SecsOrMinusOne => "-1",
            Kind::MsOrZero => "250",
            Kind::Flag => "1",
            Kind::Bytes => "topic",
        }
    }

    #[test]
    fn every_listed_option_parses_to_the_option_of_that_name() {
        for (name, kind) in OPTIONS {
            let value = if *name == "TCP_KEEPALIVE" {
                "1"
            } else {
                example(*kind)
            };
            let o = parse_option(&format!("{name}={value}")).unwrap();
            let want = match *name {
                "IDENTITY" => "ZMQ_ROUTING_ID".to_owned(),
                "MAX_SUBSCRIPTIONS" => "FERROZMQ_MAX_SUBSCRIPTIONS".to_owned(),
                n => format!("ZMQ_{n}"),
            };
            assert_eq!(o.name(), want);
        }
    }

    #[test]
    fn names_in_any_case_and_libzmq_values() {
        assert_eq!(
            parse_option("zmq_linger=0"),
            Ok(SocketOption::Linger(Some(Duration::ZERO)))
        );
        assert_eq!(parse_option("linger=-1"), Ok(SocketOption::Linger(None)));
        assert_eq!(
            parse_option("reconnect-ivl-max=0"),
            Ok(SocketOption::ReconnectIvlMax(None))
        );
        assert_eq!(parse_option("SNDHWM=10"), Ok(SocketOption::SndHwm(10)));
        assert_eq!(
            parse_option("subscribe=0x01ff"),
            Ok(SocketOption::Subscribe(Bytes::from_static(&[1, 0xff])))
        );
        assert_eq!(
            parse_option("router_mandatory=true"),
            Ok(SocketOption::RouterMandatory(true)),
        );
        assert_eq!(
            parse_option("ZMQ_STREAM_NOTIFY=0"),
            Ok(SocketOption::StreamNotify(false))
        );
    }

    #[test]
    fn bad_names_and_values_are_refused() {
        for bad in [
            "SNDHWM",
            "SNDHWM=x",
            "NOPE=1",
            "LINGER=-2",
            "IMMEDIATE=2",
            "help",
        ] {
            assert!(parse_option(bad).is_err(), "{bad}");
        }
    }
}
