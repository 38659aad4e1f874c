//! `peer`: a ZeroMQ peer in a process of its own, for the reliability suite to kill (SIGKILL),
//! restart, and stop and continue (SIGSTOP/SIGCONT).
//!
//! It prints `ready ENDPOINT` (the resolved endpoint when it binds) once bound or connected,
//! then one line for each thing a test waits for. It exits when its standard input closes, so
//! a test process that dies takes its peers with it.

use std::io::Read;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use ferrozmq::{Context, Message, Socket, SocketOption, SocketType};

const USAGE: &str = "\
usage: peer ROLE (bind|connect) ENDPOINT [ARGS]
  push START COUNT [SIZE]
                    sends the numbers START..START+COUNT as decimal text (with SIZE: `N:` padded
                    with `.` to SIZE bytes), then prints `sent`
  pull              prints `got BODY` for every message
  rep [HOLD]        prints `request BODY` and echoes every request; a request starting with
                    HOLD is never answered: it prints `holding BODY` and waits to be killed
  pub TAG           publishes `A TAG SEQ` and `B TAG SEQ`, SEQ counting up, every millisecond
  xpub              prints `subscribe TOPIC` / `unsubscribe TOPIC` for every subscription
                    message it receives (XPUB_VERBOSER: repeats included)";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [role, action, endpoint, rest @ ..] = args.as_slice() else {
        bail!("{USAGE}");
    };
    exit_when_stdin_closes();
    let socket_type = match role.as_str() {
        "push" => SocketType::Push,
        "pull" => SocketType::Pull,
        "rep" => SocketType::Rep,
        "pub" => SocketType::Pub,
        "xpub" => SocketType::XPub,
        _ => bail!("unknown role {role:?}\n{USAGE}"),
    };
    let ctx = Context::new();
    let socket = ctx.socket(socket_type);
    if socket_type == SocketType::XPub {
        socket.set_option(SocketOption::XpubVerboser(true))?;
    }
    let endpoint = match action.as_str() {
        "bind" => socket.bind(endpoint).context("bind")?,
        "connect" => {
            socket.connect(endpoint).context("connect")?;
            endpoint.clone()
        }
        _ => bail!("unknown action {action:?}\n{USAGE}"),
    };
    println!("ready {endpoint}");
    match role.as_str() {
        "push" => push(&socket, rest),
        "pull" => pull(&socket),
        "rep" => rep(&socket, rest.first().map(String::as_str)),
        "xpub" => subscriptions(&socket),
        _ => publish(&socket, rest),
    }
}

/// Sends `START..START+COUNT`, then stays until killed (or stdin closes), so that nothing it
/// queued is cut off by its exit.
fn push(socket: &Socket, args: &[String]) -> Result<()> {
    let (start, count, size) = match args {
        [start, count] => (start, count, None),
        [start, count, size] => (start, count, Some(size.parse::<usize>().context("SIZE")?)),
        _ => bail!("push needs START COUNT [SIZE]\n{USAGE}"),
    };
    let start: u64 = start.parse().context("START")?;
    let count: u64 = count.parse().context("COUNT")?;
    for n in start..start + count {
        let mut body = n.to_string().into_bytes();
        if let Some(size) = size {
            body.push(b':');
            body.resize(size.max(body.len()), b'.');
        }
        socket.send(body)?;
    }
    println!("sent");
    park_forever()
}

fn pull(socket: &Socket) -> Result<()> {
    loop {
        let msg = socket.recv()?;
        println!("got {}", body(&msg));
    }
}

fn rep(socket: &Socket, hold: Option<&str>) -> Result<()> {
    loop {
        let request = socket.recv()?;
        let text = body(&request);
        if hold.is_some_and(|h| text.starts_with(h)) {
            println!("holding {text}");
            park_forever();
        }
        println!("request {text}");
        socket.send(request)?;
    }
}

fn publish(socket: &Socket, args: &[String]) -> Result<()> {
    let [tag] = args else {
        bail!("pub needs TAG\n{USAGE}");
    };
    for seq in 0u64.. {
        socket.send(format!("A {tag} {seq}"))?;
        socket.send(format!("B {tag} {seq}"))?;
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

fn subscriptions(socket: &Socket) -> Result<()> {
    loop {
        let msg = socket.recv()?;
        match msg.as_subscription() {
            Some((true, topic)) => println!("subscribe {}", String::from_utf8_lossy(topic)),
            Some((false, topic)) => println!("unsubscribe {}", String::from_utf8_lossy(topic)),
            None => println!("message {}", body(&msg)),
        }
    }
}

/// The first frame as (lossy) text.
fn body(msg: &Message) -> String {
    msg.first()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .unwrap_or_default()
}

/// Waits until the process is killed or stdin closes.
fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}

/// A thread that ends the process when its parent closes our standard input (or dies).
fn exit_when_stdin_closes() {
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
}
