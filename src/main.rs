//! The `pim` binary: parse, run, and turn an error into one line on stderr and exit code 1
//! (clap exits with 2 on a usage error).

use std::process::ExitCode;

use clap::Parser;

// Training allocates and frees the same large activations at every step; mimalloc reuses
// them where the system allocator returns them to the kernel and faults them in again
// (measured: 1.3x training throughput, docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Recorded in run.json; a path that is not UTF-8 is recorded lossily, not a panic.
    let argv: Vec<String> = std::env::args_os().map(|arg| arg.to_string_lossy().into_owned()).collect();
    let cli = pim::cli::Cli::parse();
    match pim::cli::run(cli, &argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pim: error: {error}");
            ExitCode::FAILURE
        }
    }
}
