//! The tests that need something of the machine: a GPU adapter, QEMU's x86-64 emulator, or
//! the complete datasets under `../shared/data/`. Where that is missing, a test shows as
//! *ignored* in the summary and its reason is printed above it; `PIM_REQUIRE_GPU=1`,
//! `PIM_REQUIRE_QEMU=1` and `PIM_REQUIRE_DATA=1` (set by CI, which has all three) run it
//! anyway, so that a missing GPU, emulator or archive fails there. A
//! custom harness (libtest-mimic), because the standard one can only ignore a test when it
//! is compiled, not when the machine is looked at.

#[path = "../common/mod.rs"]
#[allow(dead_code)] // shared with the integration tests, which use the rest
mod common;

mod cpus;
mod dsads_full;
mod gpu;
mod usc_had_full;

use std::process::ExitCode;

use libtest_mimic::{Arguments, Trial};

/// A test, and why it cannot run here (`None`: it can).
struct Check {
    name: &'static str,
    missing: Option<String>,
    run: fn(),
}

fn main() -> ExitCode {
    let checks = [
        Check {
            name: "gpu::one_pretraining_epoch_runs_on_the_gpu_backend",
            missing: gpu::missing(),
            run: gpu::one_pretraining_epoch,
        },
        Check { name: "cpus::same_bytes_on_every_cpu", missing: cpus::missing(), run: cpus::same_bytes_on_every_cpu },
        Check {
            name: "dsads_full::full_dsads_gives_9120_windows_of_22_quantities",
            missing: dsads_full::missing(),
            run: dsads_full::full_dsads,
        },
        Check {
            name: "usc_had_full::full_usc_had_gives_27205_windows_of_14_subjects",
            missing: usc_had_full::missing(),
            run: usc_had_full::full_usc_had,
        },
    ];
    let trials = checks
        .into_iter()
        .map(|check| {
            let ignored = check.missing.is_some();
            if let Some(reason) = &check.missing {
                println!("ignored here: {}: {reason}", check.name);
            }
            let run = check.run;
            Trial::test(check.name, move || {
                run();
                Ok(())
            })
            .with_ignored_flag(ignored)
        })
        .collect();
    libtest_mimic::run(&Arguments::from_args(), trials).exit_code()
}

/// `../shared/data/NAME/`, where the complete datasets live beside the checkout.
pub fn shared_data(name: &str) -> std::path::PathBuf {
    common::root().join("..").join("shared").join("data").join(name)
}

/// Why a test of the complete dataset `archive` cannot run here, if it cannot.
pub fn archive_missing(archive: &std::path::Path) -> Option<String> {
    let absent = (!archive.is_file()).then(|| format!("{} is absent", archive.display()));
    unless_required("PIM_REQUIRE_DATA", absent)
}

/// Extract `archive` with the `extract.sh` beside it into `dest` (failing if it is absent).
pub fn extract(archive: &std::path::Path, dest: &std::path::Path) {
    assert!(archive.is_file(), "PIM_REQUIRE_DATA=1, but {} is absent", archive.display());
    let script = archive.with_file_name("extract.sh");
    assert_cmd::Command::new("bash").arg(&script).arg(dest).timeout(common::PROCESS_LIMIT).assert().success();
}

/// `reason` to skip, unless the environment variable `require` is `1`.
pub fn unless_required(require: &str, reason: Option<String>) -> Option<String> {
    let reason = reason?;
    (std::env::var(require).as_deref() != Ok("1")).then(|| format!("{reason} (set {require}=1 to make this a failure)"))
}
