//! The same seed gives the same bytes on every x86-64 CPU: the tiny fixture's whole chain
//! (pseudo-labels; PIM, masked-reconstruction and transformation pre-training; fine-tuning;
//! evaluation) run on this CPU and, through QEMU's user-mode emulator, on a Haswell (AVX2
//! and FMA, no AVX-512) and a Nehalem (SSE4.2: no AVX, no FMA). Every SIMD-dispatching
//! library on the path (Burn's reductions and matrix products, rustfft, the system's
//! `expf`) then takes another branch than here, so any numeric step that depends on the
//! CPU shows as a changed byte. CI installs `qemu-user` and sets `PIM_REQUIRE_QEMU=1`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{PROCESS_LIMIT, fixture, root};
use crate::unless_required;

/// The emulated CPUs, by QEMU's model names.
const EMULATED: [&str; 2] = ["Haswell", "Nehalem"];

/// Why this test cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    let absent = if !cfg!(target_arch = "x86_64") {
        Some("not an x86-64 machine".to_string())
    } else if Command::new("qemu-x86_64").arg("--version").output().is_err() {
        Some("qemu-x86_64 is not installed (Debian: apt install qemu-user)".to_string())
    } else {
        None
    };
    unless_required("PIM_REQUIRE_QEMU", absent)
}

/// The artefacts compared, relative to a chain's folder.
const ARTEFACTS: [&str; 10] = [
    "labels/labels.csv",
    "labels/windows.npy",
    "pim/encoder.bpk",
    "pim/pretrain_model.bpk",
    "masked/encoder.bpk",
    "transform/encoder.bpk",
    "tuned/model.bpk",
    "tuned/predictions.csv",
    "tuned/results.json",
    "scratch/model.bpk",
];

pub fn same_bytes_on_every_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let native = chain(dir.path(), None);
    for cpu in EMULATED {
        let emulated = chain(dir.path(), Some(cpu));
        for artefact in ARTEFACTS {
            let (here, there) =
                (std::fs::read(native.join(artefact)).unwrap(), std::fs::read(emulated.join(artefact)).unwrap());
            assert!(here == there, "{artefact} differs between this CPU and an emulated {cpu}");
        }
    }
}

/// Run the chain into `dir/<cpu>` on `cpu` (`None`: this CPU); the chain's folder.
fn chain(dir: &Path, cpu: Option<&str>) -> PathBuf {
    let out = dir.join(cpu.unwrap_or("native"));
    let (config, data) = (fixture("dsads-tiny.json"), fixture("dsads-tiny"));
    let at = |name: &str| out.join(name).into_os_string();
    let input = ["--config".into(), config.into_os_string(), "--data-dir".into(), data.clone().into_os_string()];
    let run = |args: &[OsString]| run(cpu, args.iter().chain(&input));
    run(&["pseudo-label".into(), "--out".into(), at("labels")]);
    for method in ["pim", "masked", "transform"] {
        run(&[
            "pretrain".into(),
            "--epochs".into(),
            "2".into(),
            "--method".into(),
            method.into(),
            "--labels".into(),
            at("labels"),
            "--out".into(),
            at(method),
        ]);
    }
    let finetune = ["finetune", "--shots", "2", "--epochs", "3"].map(OsString::from);
    run(&[&finetune[..], &["--init".into(), at("pim"), "--out".into(), at("tuned")]].concat());
    run(&[&finetune[..], &["--out".into(), at("scratch")]].concat());
    self::run(cpu, ["eval".into(), "--run".into(), at("tuned"), "--data-dir".into(), data.into_os_string()].iter());
    out
}

/// `pim -q ARGS` on `cpu` (`None`: this CPU); fails the test if pim fails.
fn run<'a>(cpu: Option<&str>, args: impl Iterator<Item = &'a OsString>) {
    let binary = assert_cmd::cargo::cargo_bin("pim");
    let mut command = match cpu {
        Some(cpu) => {
            let mut qemu = Command::new("qemu-x86_64");
            qemu.args(["-cpu", cpu]).arg(&binary);
            qemu
        }
        None => Command::new(&binary),
    };
    let args: Vec<&OsString> = args.collect();
    command.current_dir(root()).arg("-q").args(&args);
    let output = assert_cmd::Command::from_std(command).timeout(PROCESS_LIMIT).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "pim {args:?} on {}: {stderr}", cpu.unwrap_or("this CPU"));
}
