//! Compiles the C worker of the `libzmq+sodium` column, `c/libzmq_worker.c`, against the
//! system's libzmq (Debian's libzmq3-dev: `zmq.h` and `-lzmq`) with the system C compiler
//! (`$CC`, else `cc`), into OUT_DIR. Tells the crate where it is
//! (`FERROZMQ_BENCH_LIBZMQ_WORKER`), or why there is none (`FERROZMQ_BENCH_LIBZMQ_MISSING`):
//! a machine without a C compiler or libzmq3-dev still builds the suite, and the column is n/a.

use std::path::PathBuf;
use std::process::Command;

/// Where Debian's libzmq3-dev puts the header; watched so installing it rebuilds the worker.
const HEADER: &str = "/usr/include/zmq.h";

fn main() {
    println!("cargo:rerun-if-changed=c/libzmq_worker.c");
    println!("cargo:rerun-if-changed={HEADER}");
    println!("cargo:rerun-if-env-changed=CC");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let out = out_dir.join("libzmq_worker");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let compiled = Command::new(&cc)
        .args(["-std=c11", "-O2", "-Wall", "-Wextra", "-o"])
        .arg(&out)
        .arg("c/libzmq_worker.c")
        .arg("-lzmq")
        .output();
    let missing = match compiled {
        Ok(result) if result.status.success() => {
            println!(
                "cargo:rustc-env=FERROZMQ_BENCH_LIBZMQ_WORKER={}",
                out.display()
            );
            return;
        }
        Err(e) => format!("no C compiler to build the libzmq+sodium worker ({cc}: {e})"),
        Ok(result) => {
            let stderr = String::from_utf8_lossy(&result.stderr);
            for line in stderr.lines() {
                println!("cargo:warning={line}");
            }
            if stderr.contains("zmq.h") || stderr.contains("-lzmq") {
                "Debian's libzmq (libzmq3-dev) is not installed".to_owned()
            } else {
                "the libzmq+sodium worker (bench/c/libzmq_worker.c) did not compile".to_owned()
            }
        }
    };
    println!("cargo:warning=the libzmq+sodium column will be n/a: {missing}");
    println!("cargo:rustc-env=FERROZMQ_BENCH_LIBZMQ_MISSING={missing}");
}
