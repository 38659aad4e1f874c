//! `ferrozmq-bench`: the comparison suite. Run with no arguments, it is the orchestrator: it
//! runs every scenario against ferrozmq, libzmq (the `zmq` crate's; and the system's, built
//! with libsodium, for CURVE), zeromq, rzmq and a raw-socket baseline, each side in its own
//! process (this binary again, as `worker ...`; the system libzmq's is a C program), and writes
//! BENCHMARKS.md and bench/chart.svg at the repository root.
//!
//! ```text
//! cargo run --release -p ferrozmq-bench                      # the full suite (< 10 min)
//! cargo run --release -p ferrozmq-bench -- --quick           # smoke run, prints only
//! cargo run --release -p ferrozmq-bench -- --only tcp-16,lat-tcp --libs ferrozmq,libzmq
//! cargo run --release -p ferrozmq-bench -- --only curve-16,curve-lat --libs ferrozmq,libzmq+sodium
//! ```

mod echo;
mod json;
mod libs;
mod orchestrate;
mod report;
mod scenario;
mod svg;
mod worker;

use std::path::{Path, PathBuf};
use std::process;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand};

use worker::{Job, Lib};

/// Benchmarks ferrozmq against libzmq, zeromq, rzmq and raw sockets; writes BENCHMARKS.md.
#[derive(Debug, Parser)]
#[command(name = "ferrozmq-bench", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// A fast smoke run: one round, a tenth of the counts; prints, writes no file.
    #[arg(long)]
    quick: bool,
    /// Run only these scenarios (comma-separated ids; see `list`); prints, writes no file.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Run only these libraries (comma-separated); prints, writes no file.
    #[arg(long, value_delimiter = ',', value_enum)]
    libs: Vec<Lib>,
    /// Rounds; each cell is the median of its rounds [default: 5, --quick: 1].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: Option<u64>,
    /// Write BENCHMARKS.md and bench/chart.svg even for a partial or quick run.
    #[arg(long)]
    write: bool,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// One side of one run (started by the orchestrator).
    Worker(Job),
    /// List the scenario ids.
    List,
}

fn main() {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Cmd::Worker(job)) => worker::run(&job),
        Some(Cmd::List) => {
            for s in scenario::all() {
                println!("{:<10} {}", s.id, s.title);
            }
            Ok(())
        }
        None => orchestrate(&cli),
    };
    if let Err(e) = outcome {
        eprintln!("ferrozmq-bench: {e:#}");
        process::exit(1);
    }
}

fn orchestrate(cli: &Cli) -> Result<()> {
    let started = Instant::now();
    let load_before = load_average();
    let mut scenarios = scenario::all();
    if !cli.only.is_empty() {
        for id in &cli.only {
            if !scenarios.iter().any(|s| s.id == id) {
                bail!("unknown scenario {id:?}; `list` shows them");
            }
        }
        scenarios.retain(|s| cli.only.iter().any(|id| id == s.id));
    }
    if cli.quick {
        for s in &mut scenarios {
            if !matches!(s.kind, scenario::Kind::Rss { .. }) {
                s.count = (s.count / 10).max(100);
            }
        }
    }
    let libs: Vec<Lib> = if cli.libs.is_empty() {
        scenario::LIBS.to_vec()
    } else {
        scenario::LIBS
            .into_iter()
            .filter(|l| cli.libs.contains(l))
            .collect()
    };
    let rounds = cli
        .rounds
        .map_or(if cli.quick { 1 } else { 5 }, |r| r as usize);
    let results = orchestrate::run_all(&scenarios, &libs, rounds);

    let full = !cli.quick && cli.only.is_empty() && cli.libs.is_empty();
    let root = repo_root();
    let chart_path = root.join("bench/chart.svg");
    let ctx = report::Context {
        command: command_line(cli),
        rounds,
        wall: started.elapsed(),
        machine: format!(
            "{}; load average (1 min) {load_before} before the run, {} after (other work on \
             the machine competes for the cores)",
            machine(),
            load_average()
        ),
        versions: versions(&root),
        chart: Some("bench/chart.svg".to_owned()),
    };
    let targets = scenario::targets();
    let md = report::markdown(&scenarios, &libs, &results, &targets, &ctx);
    if full || cli.write {
        let svg = svg::chart(&scenarios, &libs, &results, &targets);
        std::fs::write(&chart_path, svg).with_context(|| format!("{}", chart_path.display()))?;
        let md_path = root.join("BENCHMARKS.md");
        std::fs::write(&md_path, &md).with_context(|| format!("{}", md_path.display()))?;
        eprintln!("wrote {} and {}", md_path.display(), chart_path.display());
    }
    println!("{md}");
    Ok(())
}

/// The workspace root: this crate's parent directory.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The command that reproduces this run.
fn command_line(cli: &Cli) -> String {
    let mut cmd = "cargo run --release -p ferrozmq-bench".to_owned();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.is_empty() || cli.write {
        cmd.push_str(" -- ");
        cmd.push_str(&args.join(" "));
    }
    cmd
}

/// CPU model, cores and kernel, from /proc.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{model}, {cores} cores, Linux {}", kernel.trim())
}

/// The 1-minute load average, from /proc/loadavg.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// The compared versions: libzmq's from the library itself (the system's from its worker), the
/// crates' from Cargo.lock.
fn versions(root: &Path) -> String {
    let (major, minor, patch) = zmq::version();
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let crate_version = |name: &str| {
        let mut lines = lock.lines();
        while let Some(line) = lines.next() {
            if line == format!("name = \"{name}\"") {
                if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = ")) {
                    return v.trim_matches('"').to_owned();
                }
            }
        }
        "?".to_owned()
    };
    let system = libs::libzmq_sodium::version()
        .map(|v| format!("libzmq+sodium {v} (the system's), "))
        .unwrap_or_default();
    format!(
        "libzmq {major}.{minor}.{patch} (zmq crate {}), {system}zeromq {}, rzmq {}, ferrozmq {}",
        crate_version("zmq"),
        crate_version("zeromq"),
        crate_version("rzmq"),
        env!("CARGO_PKG_VERSION")
    )
}
