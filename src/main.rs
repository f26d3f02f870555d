//! The `pim` binary: parse, run, and turn an error into one line on stderr and exit code 1
//! (clap exits with 2 on a usage error).

use std::process::ExitCode;

use clap::Parser;

// Training allocates and frees the same large activations at every step; mimalloc reuses
// them where the system allocator returns them to the kernel and faults them in again
// (measured: 1.3x training throughput, README.md "Benchmarks").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let cli = pim::cli::Cli::parse();
    match pim::cli::run(cli, &argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pim: error: {error}");
            ExitCode::FAILURE
        }
    }
}
