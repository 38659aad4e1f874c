//! Issue 12's API items: options refused on the socket types they do not apply to (as
//! libzmq's EINVAL), the crate-level `Error` that every operation's error converts into,
//! and the `recv_string` / `recv_bytes` helpers.

use std::time::Duration;

use ferrozmq::{Context, Error, Message, OptionError, SocketOption, SocketType};

const T: Option<Duration> = Some(Duration::from_secs(10));

#[test]
fn options_that_do_not_apply_to_the_type_are_refused() {
    let ctx = Context::new();
    let refused = [
        (SocketType::Rep, SocketOption::RouterMandatory(true)),
        (SocketType::Dealer, SocketOption::RouterHandover(true)),
        (SocketType::Dealer, SocketOption::ReqRelaxed(true)),
        (SocketType::Rep, SocketOption::ReqCorrelate(true)),
        (
            SocketType::Push,
            SocketOption::Subscribe(Default::default()),
        ),
        (SocketType::Sub, SocketOption::XpubVerbose(true)),
        (SocketType::Pull, SocketOption::InvertMatching(true)),
    ];
    for (t, option) in refused {
        let name = option.name();
        let e = ctx.socket(t).set_option(option).unwrap_err();
        assert_eq!(e, OptionError::NotApplicable(name), "{t} {name}");
        assert_eq!(e.errno(), libc::EINVAL);
    }
    let accepted = [
        (SocketType::Router, SocketOption::RouterMandatory(true)),
        (SocketType::Req, SocketOption::ReqRelaxed(true)),
        (SocketType::Sub, SocketOption::Subscribe(Default::default())),
        (SocketType::Pub, SocketOption::XpubNodrop(true)),
        (SocketType::Sub, SocketOption::InvertMatching(true)),
        // Generic options apply to every type, as in libzmq (CONFLATE is ignored where it
        // has no effect).
        (SocketType::Pair, SocketOption::Conflate(true)),
        (SocketType::Rep, SocketOption::SndHwm(5)),
    ];
    for (t, option) in accepted {
        let name = option.name();
        ctx.socket(t)
            .set_option(option)
            .unwrap_or_else(|e| panic!("{t} {name}: {e}"));
    }
}

/// Binding, connecting, setting options, sending and receiving, all with `?` into one type.
fn round_trip(ctx: &Context) -> Result<String, Error> {
    let rep = ctx.socket(SocketType::Rep);
    rep.set_option(SocketOption::Linger(Some(Duration::ZERO)))?;
    let ep = rep.bind("tcp://127.0.0.1:*")?;
    let req = ctx.socket(SocketType::Req);
    req.connect(&ep)?;
    req.send("ping")?;
    let request = rep.recv_timeout(T)?;
    rep.send(request)?;
    Ok(req
        .recv_string()?
        .map_err(|_| ferrozmq::SendErrorKind::NotSupported)?)
}

#[test]
fn every_operation_error_converts_into_the_crate_error() {
    let ctx = Context::new();
    assert_eq!(round_trip(&ctx).unwrap(), "ping");
    let s = ctx.socket(SocketType::Rep);
    let e: Error = s.bind("nope").unwrap_err().into();
    assert_eq!(e.errno(), libc::EINVAL);
    let e: Error = s
        .set_option(SocketOption::RouterMandatory(true))
        .unwrap_err()
        .into();
    assert!(
        matches!(e, Error::Option(OptionError::NotApplicable(_))),
        "{e:?}"
    );
    let e: Error = s.try_recv().unwrap_err().into();
    assert_eq!(e.errno(), libc::EAGAIN);
}

#[test]
fn recv_string_and_recv_bytes() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull);
    pull.bind("inproc://issue12-helpers").unwrap();
    let push = ctx.socket(SocketType::Push);
    push.connect("inproc://issue12-helpers").unwrap();
    push.send("héllo").unwrap();
    push.send(&[0xffu8, 0xfe][..]).unwrap();
    let mut two = Message::new();
    two.push_back(b"ab".to_vec());
    two.push_back(b"cd".to_vec());
    push.send(two).unwrap();
    pull.set_option(SocketOption::RcvTimeo(T)).unwrap();
    assert_eq!(pull.recv_string().unwrap(), Ok("héllo".to_owned()));
    assert_eq!(pull.recv_string().unwrap(), Err(vec![0xff, 0xfe]));
    assert_eq!(pull.recv_bytes().unwrap(), b"abcd");
    pull.set_option(SocketOption::RcvTimeo(Some(Duration::ZERO)))
        .unwrap();
    assert!(pull.recv_bytes().is_err());
}
