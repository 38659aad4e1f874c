//! `fzmq`: the ferrozmq command-line tool. A socket of any type wired to stdin/stdout
//! (`socket_cmd`), with the line format in `format` and `--option` in `option_parse`, a
//! proxy (`proxy_cmd`), and a benchmark suite (`bench`).
//!
//! Every socket type shares one argument struct; [`command`] hides from each type's `--help`
//! the arguments that do not apply to it (which `socket_cmd` also refuses, exit 2).
//!
//! Exit codes: 0 success, 1 runtime error (including `--timeout` and undelivered messages),
//! 2 bad arguments, 130 interrupted.

use std::process;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use ferrozmq::SocketType;

mod bench;
mod format;
mod option_parse;
mod proxy_cmd;
mod security;
mod socket_cmd;

use socket_cmd::SocketArgs;

/// Send stdin to a ZeroMQ socket and print what it receives.
///
/// Examples:
///   fzmq rep --bind tcp://127.0.0.1:5555 --echo
///   fzmq req --connect tcp://127.0.0.1:5555            (type lines, see replies)
///   seq 100 | fzmq push --connect ipc:///tmp/work
///   fzmq pull --bind ipc:///tmp/work --count 100
///   fzmq router --bind 'tcp://*:5555' -d '|'
///   fzmq sub --connect tcp://127.0.0.1:5556 --subscribe weather.
///   fzmq stream --bind tcp://127.0.0.1:8080 --echo   (a raw tcp echo server)
///   fzmq proxy --frontend router:bind:tcp://127.0.0.1:5559 --backend dealer:bind:tcp://127.0.0.1:5560
///   fzmq bench
#[derive(Debug, Parser)]
#[command(name = "fzmq", version, verbatim_doc_comment, after_long_help = format::FORMAT_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One subcommand per socket type, plus the tools. To add a socket type: a variant here,
/// its line in `main` and in `SOCKET_TYPES`, and a role in `socket_cmd`.
#[derive(Debug, Subcommand)]
enum Command {
    /// PAIR: print incoming messages while sending stdin lines.
    #[command(alias = "PAIR", after_long_help = format::FORMAT_HELP)]
    Pair(SocketArgs),
    /// REQ: send each stdin line as a request and print its reply.
    #[command(alias = "REQ", after_long_help = format::FORMAT_HELP)]
    Req(SocketArgs),
    /// REP: print each request and reply with the next stdin line (or --echo).
    #[command(alias = "REP", after_long_help = format::FORMAT_HELP)]
    Rep(SocketArgs),
    /// DEALER: print incoming messages while sending stdin lines.
    #[command(alias = "DEALER", after_long_help = format::FORMAT_HELP)]
    Dealer(SocketArgs),
    /// ROUTER: print incoming messages and send stdin lines, routing id first (use -d).
    #[command(alias = "ROUTER", after_long_help = format::FORMAT_HELP)]
    Router(SocketArgs),
    /// PUSH: send each stdin line.
    #[command(alias = "PUSH", after_long_help = format::FORMAT_HELP)]
    Push(SocketArgs),
    /// PULL: print incoming messages.
    #[command(alias = "PULL", after_long_help = format::FORMAT_HELP)]
    Pull(SocketArgs),
    /// PUB: send each stdin line to the subscribers whose prefix it matches (a subscriber
    /// that has not connected and subscribed yet misses it).
    #[command(alias = "PUB", after_long_help = format::FORMAT_HELP)]
    Pub(SocketArgs),
    /// SUB: print the messages matching --subscribe (none: everything).
    #[command(alias = "SUB", after_long_help = format::FORMAT_HELP)]
    Sub(SocketArgs),
    /// XPUB: print subscriptions (0x01TOPIC, unsubscriptions 0x00TOPIC) while sending stdin.
    #[command(alias = "XPUB", after_long_help = format::FORMAT_HELP)]
    Xpub(SocketArgs),
    /// XSUB: print incoming messages while sending stdin (a 0x01TOPIC line subscribes).
    #[command(alias = "XSUB", after_long_help = format::FORMAT_HELP)]
    Xsub(SocketArgs),
    /// STREAM: talk to plain tcp/ipc peers (no ZeroMQ): prints ID<TAB>DATA per read, ID<TAB>
    /// when a peer connects or leaves; an input line ID<TAB>DATA sends DATA, ID<TAB> closes
    /// the connection; --echo sends each peer's bytes back.
    #[command(alias = "STREAM", after_long_help = format::FORMAT_HELP)]
    Stream(SocketArgs),
    /// Run a proxy between two sockets (zmq_proxy), e.g.
    /// --frontend router:bind:tcp://127.0.0.1:5559 --backend dealer:bind:tcp://127.0.0.1:5560.
    Proxy(proxy_cmd::ProxyArgs),
    /// Send a command to a proxy's control socket (PAUSE, RESUME, TERMINATE, STATISTICS)
    /// and print the reply; STATISTICS prints as named numbers.
    ProxyControl(proxy_cmd::ControlArgs),
    /// Measure throughput (PUSH/PULL) and latency (REQ/REP) in this process.
    Bench(bench::BenchArgs),
    /// Print a new CURVE key pair as two labelled Z85 lines: public-key, then secret-key.
    /// Keep the secret key to yourself (e.g. `fzmq keygen > server.key; chmod 600 server.key`).
    Keygen,
    /// Print a shell completion script: fzmq completions bash > /etc/bash_completion.d/fzmq
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The socket types fzmq has a subcommand for.
const SOCKET_TYPES: &[SocketType] = &[
    SocketType::Pair,
    SocketType::Req,
    SocketType::Rep,
    SocketType::Dealer,
    SocketType::Router,
    SocketType::Push,
    SocketType::Pull,
    SocketType::Pub,
    SocketType::Sub,
    SocketType::XPub,
    SocketType::XSub,
    SocketType::Stream,
];

/// A bad argument found after parsing (an invalid endpoint, a refused option): exit code 2.
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The command line, with each socket type's `--help` listing only the arguments that apply
/// to it.
fn command() -> clap::Command {
    let mut cmd = Cli::command();
    for &t in SOCKET_TYPES {
        let name = socket_cmd::type_name(t);
        let ids: Vec<String> = cmd
            .find_subcommand(&name)
            .map(|sub| {
                sub.get_arguments()
                    .map(|a| a.get_id().to_string())
                    .filter(|id| !socket_cmd::applies(id, t))
                    .collect()
            })
            .unwrap_or_default();
        cmd = cmd.mut_subcommand(&name, |mut sub| {
            for id in &ids {
                sub = sub.mut_arg(id, |a| a.hide(true));
            }
            sub
        });
    }
    cmd
}

fn main() {
    let matches = command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let socket = |t: SocketType, args| {
        let sub = matches.subcommand().map(|(_, m)| m);
        match sub.map(|m| socket_cmd::refuse_inapplicable(t, m)) {
            Some(Err(e)) => Err(e),
            _ => socket_cmd::run(t, args),
        }
    };
    let outcome = match cli.command {
        Command::Pair(args) => socket(SocketType::Pair, args),
        Command::Req(args) => socket(SocketType::Req, args),
        Command::Rep(args) => socket(SocketType::Rep, args),
        Command::Dealer(args) => socket(SocketType::Dealer, args),
        Command::Router(args) => socket(SocketType::Router, args),
        Command::Push(args) => socket(SocketType::Push, args),
        Command::Pull(args) => socket(SocketType::Pull, args),
        Command::Pub(args) => socket(SocketType::Pub, args),
        Command::Sub(args) => socket(SocketType::Sub, args),
        Command::Xpub(args) => socket(SocketType::XPub, args),
        Command::Xsub(args) => socket(SocketType::XSub, args),
        Command::Stream(args) => socket(SocketType::Stream, args),
        Command::Proxy(args) => proxy_cmd::run(args),
        Command::ProxyControl(args) => proxy_cmd::control(args),
        Command::Bench(args) => bench::run(args),
        Command::Keygen => security::keygen(),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command(), "fzmq", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)
                .map_err(|e| anyhow::anyhow!(e).context("cannot write to stdout"))
        }
    };
    exit_with(outcome)
}

/// A duration as people read it: `500 ms`, `2.5 s`.
pub(crate) fn human_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        match d.subsec_micros() % 1000 {
            0 => format!("{} ms", d.as_millis()),
            _ => format!("{:.1} ms", d.as_secs_f64() * 1000.0),
        }
    } else {
        format!("{} s", (d.as_secs_f64() * 10.0).round() / 10.0)
    }
}

/// Prints the error, if any, and exits with its code (2 for usage errors, else 1).
fn exit_with(outcome: anyhow::Result<()>) -> ! {
    match outcome {
        Ok(()) => process::exit(0),
        Err(e) if e.is::<UsageError>() => {
            eprintln!("error: {e}\n\nFor more information, try '--help'.");
            process::exit(2)
        }
        Err(e) => {
            eprintln!("fzmq: {e:#}");
            process::exit(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_valid() {
        command().debug_assert();
    }

    #[test]
    fn durations_print_as_people_read_them() {
        assert_eq!(human_duration(Duration::from_millis(500)), "500 ms");
        assert_eq!(human_duration(Duration::from_millis(2500)), "2.5 s");
        assert_eq!(human_duration(Duration::from_secs(3)), "3 s");
        assert_eq!(human_duration(Duration::from_millis(12_500)), "12.5 s");
        assert_eq!(human_duration(Duration::from_micros(1500)), "1.5 ms");
    }

    #[test]
    fn every_type_has_a_subcommand() {
        let cmd = Cli::command();
        for t in SOCKET_TYPES {
            let name = t.name().to_ascii_lowercase();
            assert!(cmd.find_subcommand(&name).is_some(), "{name}");
        }
    }
}
