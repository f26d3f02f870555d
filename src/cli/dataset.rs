//! Where a stage's config, data and run folders come from: `--dataset NAME` (a preset,
//! with default data and run folders) or `--config FILE` with explicit folders; and
//! `pim datasets`, which lists the presets.

use std::path::PathBuf;

use clap::Args;

use super::progress::print_lines;
use crate::config::PimConfig;
use crate::config::{PretrainMethod, PretrainTargets};
use crate::error::{Error, Result};
use crate::presets::{self, PRESETS, Preset};
use crate::run_folder::layout::LabelsFolder;
use crate::train::windows::WindowSource;

/// Which config a stage runs: a dataset `pim` knows by name, or a config file.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// A dataset pim knows (dsads, pamap2, wear, mmfit, usc-had; `pim datasets` lists them):
    /// its built-in config, data location and run folders under runs/<name>/.
    #[arg(long)]
    pub dataset: Option<String>,
    /// Config file (JSON) of your own dataset, e.g. configs/dsads.json.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// A stage's config, what errors call it, and the preset it came from.
pub struct Resolved {
    /// The config, not yet validated (the stage applies its overrides first).
    pub config: PimConfig,
    /// The config file, or `<preset NAME>`.
    pub path: PathBuf,
    /// The preset, with `--dataset`.
    pub preset: Option<&'static Preset>,
}

impl ConfigArgs {
    /// The preset, if `--dataset` names one (and `--config` is absent).
    pub fn preset(&self) -> Result<Option<&'static Preset>> {
        match (&self.dataset, &self.config) {
            (Some(name), Some(file)) => Err(Error::invalid_config(
                file,
                "--dataset",
                format!("and --config are both given ({name} and {})", file.display()),
                format!("drop --config to run the built-in {name} config, or drop --dataset to run {}", file.display()),
            )),
            (Some(name), None) => presets::find(name).map(Some),
            (None, Some(_)) => Ok(None),
            (None, None) => Err(Error::usage(
                "--dataset",
                "and --config are both missing",
                "give --dataset NAME for a dataset pim knows (`pim datasets`), or --config FILE for your own",
            )),
        }
    }

    /// Load the config these arguments name.
    pub fn resolve(&self) -> Result<Resolved> {
        match (self.preset()?, &self.config) {
            (Some(preset), _) => Ok(Resolved { config: preset.config(), path: preset.label(), preset: Some(preset) }),
            (None, Some(file)) => Ok(Resolved { config: PimConfig::load(file)?, path: file.clone(), preset: None }),
            (None, None) => unreachable!("preset() refuses neither --dataset nor --config"),
        }
    }
}

/// `given`, else the preset's run folder `runs/<name>/<stage>`, else an error naming the flag.
pub fn out_or_default(given: &Option<PathBuf>, preset: Option<&Preset>, stage: &str, flag: &str) -> Result<PathBuf> {
    match (given, preset) {
        (Some(path), _) => Ok(path.clone()),
        (None, Some(preset)) => Ok(preset.run_dir(stage)),
        (None, None) => Err(Error::usage(
            flag,
            "is missing",
            format!("give {flag} DIR (with --dataset NAME it defaults to runs/<name>/{stage})"),
        )),
    }
}

/// The raw data folder: `--data-dir`, else the preset's (`$PIM_DATA/<name>`, else
/// `data/<name>`), which must hold the data.
pub fn data_dir(given: &Option<PathBuf>, preset: Option<&Preset>) -> Result<PathBuf> {
    match (given, preset) {
        (Some(dir), _) => Ok(dir.clone()),
        (None, Some(preset)) => {
            let dir = preset.data_dir(None);
            if preset.is_present(&dir) { Ok(dir) } else { Err(preset.missing(&dir)) }
        }
        (None, None) => {
            Err(Error::usage("--data-dir", "is missing", "give --data-dir DIR, the folder holding the dataset"))
        }
    }
}

/// Where a training or evaluation stage reads its windows: the raw dataset, or the windows
/// `pim pseudo-label` prepared (parsed once, loaded in a fraction of a second).
#[derive(Debug, Args)]
pub struct DataArgs {
    /// Folder holding the raw dataset (with --dataset: the prepared windows of
    /// runs/<name>/labels if there, else the dataset's data folder).
    #[arg(long, conflicts_with = "windows")]
    pub data_dir: Option<PathBuf>,
    /// The --out folder of `pim pseudo-label` (its windows.npy), instead of --data-dir.
    #[arg(long)]
    pub windows: Option<PathBuf>,
}

impl DataArgs {
    /// The source these arguments name, or the preset's default.
    pub fn source(&self, preset: Option<&Preset>) -> Result<WindowSource> {
        if let Some(windows) = &self.windows {
            return Ok(WindowSource::Prepared(windows.clone()));
        }
        if self.data_dir.is_none() {
            let prepared =
                preset.map(|p| p.run_dir(LABELS_STAGE)).filter(|dir| LabelsFolder::new(dir).windows().is_file());
            if let Some(dir) = prepared {
                return Ok(WindowSource::Prepared(dir));
            }
        }
        data_dir(&self.data_dir, preset).map(WindowSource::Raw)
    }
}

/// The run folder of `pim pseudo-label` under `runs/<name>/`.
pub const LABELS_STAGE: &str = "labels";

/// The run folder of `pim pretrain --method METHOD` under `runs/<name>/`, with the
/// sensors an encoder reads when not all (`-torso`), and `-seen` where method pim predicts
/// only their physics.
pub fn pretrain_stage(method: PretrainMethod, config: &PimConfig) -> String {
    let seen = config.pretrain.targets == PretrainTargets::SeenSensors
        && method.learns_physics()
        && !config.model.sensors.is_empty();
    format!("pretrain-{}{}{}", method.name(), sensors_suffix(config), if seen { "-seen" } else { "" })
}

/// `-<sensor>+<sensor>` for an encoder that reads only those sensors, else nothing.
fn sensors_suffix(config: &PimConfig) -> String {
    let sensors = &config.model.sensors;
    if sensors.is_empty() { String::new() } else { format!("-{}", sensors.join("+")) }
}

/// Where fine-tuning starts with `--dataset` (`--from`): a pre-training run of the preset, or scratch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinetuneFrom {
    /// The encoder of `runs/<name>/pretrain-<method>`.
    Pretrained(PretrainMethod),
    /// Random weights.
    Scratch,
}

impl std::str::FromStr for FinetuneFrom {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "scratch" => Ok(FinetuneFrom::Scratch),
            method => method.parse().map(FinetuneFrom::Pretrained).map_err(|_| {
                format!("{text:?} is neither a pre-training method (pim, masked, transform, pim+masked) nor scratch")
            }),
        }
    }
}

impl FinetuneFrom {
    /// As on the command line and in run folder names.
    pub fn name(self) -> &'static str {
        match self {
            FinetuneFrom::Pretrained(method) => method.name(),
            FinetuneFrom::Scratch => "scratch",
        }
    }

    /// The pre-training run folder it names under the preset's runs for an encoder of
    /// `config`'s sensors, which must exist.
    pub fn run_dir(self, preset: &Preset, config: &PimConfig) -> Result<Option<PathBuf>> {
        let FinetuneFrom::Pretrained(method) = self else { return Ok(None) };
        pretrain_run(preset, method, config, "pass --from scratch").map(Some)
    }
}

/// The preset's run folder of `pim pretrain --method METHOD` for an encoder of `config`'s
/// sensors, or an error saying how to make it, or `otherwise`.
pub fn pretrain_run(preset: &Preset, method: PretrainMethod, config: &PimConfig, otherwise: &str) -> Result<PathBuf> {
    let dir = preset.run_dir(&pretrain_stage(method, config));
    if dir.is_dir() {
        return Ok(dir);
    }
    let sensors = &config.model.sensors;
    let sensors = if sensors.is_empty() { String::new() } else { format!(" --sensors {}", sensors.join(",")) };
    let fix = format!(
        "run `pim pretrain --dataset {} --method {}{sensors}` first, or {otherwise}",
        preset.name,
        method.name()
    );
    Err(Error::bad_dataset(dir, "does not exist", fix))
}

/// The run folder of `pim finetune` under `runs/<name>/`: `from` is a method or `scratch`,
/// followed by the sensors of `config`'s encoder when not all.
pub fn finetune_stage(from: &str, config: &PimConfig) -> String {
    let (shots, seed) = (config.finetune.shots, config.seed);
    format!("finetune-{from}{}-{shots}shots-seed{seed}", sensors_suffix(config))
}

/// The fine-tuning run folders in `dir`, sorted.
pub fn finetune_runs(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut runs: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("finetune-"))
        .collect();
    runs.sort();
    runs
}

/// Arguments of `pim datasets`.
#[derive(Debug, Args)]
pub struct DatasetsArgs {}

/// Print every preset: where its data is looked for, whether it is there, how to get it.
pub fn run_datasets(_args: &DatasetsArgs) -> Result<()> {
    let root = std::env::var_os("PIM_DATA").map(PathBuf::from);
    let searched = match &root {
        Some(root) => format!("--data-dir, else $PIM_DATA/<name> ({}/<name>)", root.display()),
        None => "--data-dir, else $PIM_DATA/<name> (PIM_DATA is not set), else data/<name>".into(),
    };
    let mut lines = vec![format!(
        "Datasets pim knows (`--dataset NAME`); data is looked for at {searched}; runs go to runs/<name>/.\n"
    )];
    for preset in PRESETS {
        let dir = preset.data_dir(None);
        let state = if preset.is_present(&dir) { "present" } else { "absent" };
        lines.push(format!("{}  {}", preset.name, preset.title));
        lines.push(format!("    data:   {} ({state})", dir.display()));
        lines.push(format!("    layout: {}", preset.layout));
        lines.push(format!("    get it: {}\n", preset.source));
    }
    print_lines(&lines);
    Ok(())
}
