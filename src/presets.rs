//! The datasets `pim` knows by name (`--dataset NAME`): each a config shipped in
//! `configs/` and compiled into the binary, with where its data is looked for, how to tell
//! whether it is there, and how to get it. A preset's data is found at `--data-dir`, else
//! `$PIM_DATA/<name>`, else `data/<name>`; its runs go to `runs/<name>/`.

use std::path::{Path, PathBuf};

use crate::config::PimConfig;
use crate::error::{Error, Result};

/// A dataset `pim` knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// Its name, as `--dataset` takes it.
    pub name: &'static str,
    /// What it is.
    pub title: &'static str,
    /// The config, as JSON.
    config: &'static str,
    /// Paths under the data folder, any of which shows the data is there.
    markers: &'static [&'static str],
    /// The layout the reader expects.
    pub layout: &'static str,
    /// Where to get it.
    pub source: &'static str,
}

/// Every preset.
pub const PRESETS: [Preset; 5] = [
    Preset {
        name: "dsads",
        title: "Daily and Sports Activities (UCI 256): 19 activities, 8 subjects, 5 IMUs, 25 Hz",
        config: include_str!("../configs/dsads.json"),
        markers: &["a01", "data/a01"],
        layout: "a01/p1/s01.txt .. a19/p8/s60.txt (or the UCI archive's data/ folder)",
        source: "https://archive.ics.uci.edu/dataset/256/daily+and+sports+activities (CC BY 4.0); \
                 scripts/get_dsads.sh DIR fetches it (from ../shared when present)",
    },
    Preset {
        name: "pamap2",
        title: "PAMAP2 (UCI 231): 12 protocol activities, 9 subjects, hand/chest/ankle IMUs, 100 Hz",
        config: include_str!("../configs/pamap2.json"),
        markers: &["Protocol/subject101.dat"],
        layout: "Protocol/subject101.dat .. subject109.dat (the PAMAP2_Dataset folder of the UCI zip)",
        source: "https://archive.ics.uci.edu/dataset/231/pamap2+physical+activity+monitoring (CC BY 4.0)",
    },
    Preset {
        name: "wear",
        title: "WEAR: 18 outdoor sports activities, wrist and ankle accelerometers, 50 Hz",
        config: include_str!("../configs/wear.json"),
        markers: &["sbj_0.csv"],
        layout: "sbj_0.csv .. sbj_21.csv (WEAR's inertial data at 50 Hz)",
        source: "https://mariusbock.github.io/wear/ (CC BY-NC-SA 4.0)",
    },
    Preset {
        name: "mmfit",
        title: "MM-Fit: 10 exercises, left/right smartwatches, 100 Hz",
        config: include_str!("../configs/mmfit.json"),
        markers: &["w00"],
        layout: "w00/w00_sw_l_acc.npy, w00_sw_l_gyr.npy, w00_sw_r_*.npy, w00_labels.csv .. w20/",
        source: "https://mmfit.github.io/",
    },
    Preset {
        name: "usc-had",
        title: "USC-HAD: 12 activities, 14 subjects, one hip IMU, 100 Hz",
        config: include_str!("../configs/usc-had.json"),
        markers: &["USC-HAD/Subject1", "Subject1"],
        layout: "USC-HAD/Subject1/a1t1.mat .. Subject14/a12t5.mat",
        source: "https://sipi.usc.edu/had/ (cite Zhang and Sawchuk 2012); ../shared/data/usc-had/extract.sh DIR \
                 unpacks the copy pim is tested on",
    },
];

/// The preset named `name`, or an error listing them.
pub fn find(name: &str) -> Result<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name).ok_or_else(|| {
        Error::usage(
            "--dataset",
            format!("is {name:?}, not a dataset pim knows"),
            format!("use one of {} (`pim datasets` lists them), or --config FILE", names().join(", ")),
        )
    })
}

/// The presets' names.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.name).collect()
}

impl Preset {
    /// Its config (checked by the tests, so a parse failure is a bug).
    pub fn config(&self) -> PimConfig {
        let config: PimConfig = serde_json::from_str(self.config).expect("a shipped config parses");
        config.validate(&self.label()).expect("a shipped config is valid");
        config
    }

    /// How errors name its config.
    pub fn label(&self) -> PathBuf {
        PathBuf::from(format!("<preset {}>", self.name))
    }

    /// Where its data is: `given`, else `$PIM_DATA/<name>`, else `data/<name>`.
    pub fn data_dir(&self, given: Option<&Path>) -> PathBuf {
        match (given, std::env::var_os("PIM_DATA")) {
            (Some(dir), _) => dir.to_path_buf(),
            (None, Some(root)) => PathBuf::from(root).join(self.name),
            (None, None) => PathBuf::from("data").join(self.name),
        }
    }

    /// Whether `dir` holds the data.
    pub fn is_present(&self, dir: &Path) -> bool {
        self.markers.iter().any(|m| dir.join(m).exists())
    }

    /// Where its runs go: `runs/<name>/<stage>`.
    pub fn run_dir(&self, stage: &str) -> PathBuf {
        PathBuf::from("runs").join(self.name).join(stage)
    }

    /// An error for data that is not where it was looked for.
    pub fn missing(&self, dir: &Path) -> Error {
        Error::bad_dataset(
            dir,
            format!("does not hold the {} data (looked for {})", self.name, self.markers.join(" or ")),
            format!(
                "get it from {} and put it there (layout: {}), or pass --data-dir, or set PIM_DATA",
                self.source, self.layout
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_config_loads_and_matches_its_file() {
        for preset in PRESETS {
            let config = preset.config();
            let file = PimConfig::load(&Path::new("configs").join(format!("{}.json", preset.name))).unwrap();
            assert_eq!(config, file, "{}", preset.name);
            assert_eq!(config.dataset.name, preset.name);
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_list() {
        let error = find("dsad").unwrap_err().to_string();
        assert!(error.contains("dsads, pamap2, wear, mmfit, usc-had"), "{error}");
    }
}
