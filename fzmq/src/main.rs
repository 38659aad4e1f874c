//! `fzmq`: the ferrozmq command-line tool. A socket of any type wired to stdin/stdout
//! (`socket_cmd`), with the line format in `format`, and a benchmark suite (`bench`).
//!
//! Exit codes: 0 success, 1 runtime error (including `--timeout`), 2 bad arguments.

use std::process;

use clap::{Parser, Subcommand};
use ferrozmq::SocketType;

mod bench;
mod format;
mod proxy_cmd;
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
    /// Run a proxy between two sockets (zmq_proxy), e.g.
    /// --frontend router:bind:tcp://127.0.0.1:5559 --backend dealer:bind:tcp://127.0.0.1:5560.
    Proxy(proxy_cmd::ProxyArgs),
    /// Measure throughput (PUSH/PULL) and latency (REQ/REP) in this process.
    Bench(bench::BenchArgs),
}

/// The socket types fzmq has a subcommand for.
#[cfg(test)]
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

fn main() {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Pair(args) => socket_cmd::run(SocketType::Pair, args),
        Command::Req(args) => socket_cmd::run(SocketType::Req, args),
        Command::Rep(args) => socket_cmd::run(SocketType::Rep, args),
        Command::Dealer(args) => socket_cmd::run(SocketType::Dealer, args),
        Command::Router(args) => socket_cmd::run(SocketType::Router, args),
        Command::Push(args) => socket_cmd::run(SocketType::Push, args),
        Command::Pull(args) => socket_cmd::run(SocketType::Pull, args),
        Command::Pub(args) => socket_cmd::run(SocketType::Pub, args),
        Command::Sub(args) => socket_cmd::run(SocketType::Sub, args),
        Command::Xpub(args) => socket_cmd::run(SocketType::XPub, args),
        Command::Xsub(args) => socket_cmd::run(SocketType::XSub, args),
        Command::Proxy(args) => proxy_cmd::run(args),
        Command::Bench(args) => bench::run(args),
    };
    exit_with(outcome)
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
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
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
