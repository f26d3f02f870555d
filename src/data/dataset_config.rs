//! The dataset group of a config: where the signals are in the files, their units and
//! sampling rate, the left/right pairs, the windowing and the subject split.
//!
//! Checked once by [`DatasetConfig::validate`]; everything downstream trusts it.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Standard gravity, for datasets that record acceleration in g.
pub const STANDARD_GRAVITY_MPS2: f64 = 9.80665;

/// How a dataset is laid out on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetFormat {
    /// UCI DSADS: `aXX/pY/sZZ.txt`, 125 rows x 45 comma-separated values, no header.
    Dsads,
    /// The generic CSV format documented in docs/data.md: one header row, columns
    /// `subject`, `activity` and `<sensor>.<acc|gyro|mag>.<x|y|z>`.
    Csv,
    /// USC-HAD: `USC-HAD/SubjectN/a<activity>t<trial>.mat` (MATLAB v5), each with an
    /// `N x 6` `sensor_readings` (acc x, y, z in g; gyro x, y, z in deg/s) at 100 Hz.
    UscHad,
    /// PAMAP2: `Protocol/subject10X.dat`, 54 space-separated values per row at 100 Hz.
    Pamap2,
    /// WEAR: `sbj_N.csv` with `<sensor>_acc_<axis>` columns (g) and a string `label`.
    Wear,
    /// MM-Fit: `wXX/wXX_<device>_<acc|gyr|mag>.npy` streams and `wXX_labels.csv`.
    Mmfit,
}

impl DatasetFormat {
    /// The format's name, as in configs.
    pub fn name(self) -> &'static str {
        match self {
            DatasetFormat::Dsads => "dsads",
            DatasetFormat::Csv => "csv",
            DatasetFormat::UscHad => "usc_had",
            DatasetFormat::Pamap2 => "pamap2",
            DatasetFormat::Wear => "wear",
            DatasetFormat::Mmfit => "mmfit",
        }
    }

    /// Whether the files' columns are found by number (`sensors[].columns`), not by name.
    pub fn has_column_numbers(self) -> bool {
        match self {
            DatasetFormat::Dsads | DatasetFormat::UscHad | DatasetFormat::Pamap2 => true,
            DatasetFormat::Csv | DatasetFormat::Wear | DatasetFormat::Mmfit => false,
        }
    }
}

/// Unit of the accelerometer columns in the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccUnit {
    /// Metres per second squared.
    #[serde(rename = "m/s^2")]
    MetresPerSecondSquared,
    /// Multiples of standard gravity (9.80665 m/s^2).
    #[serde(rename = "g")]
    StandardGravity,
}

/// Unit of the gyroscope columns in the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GyroUnit {
    /// Radians per second.
    #[serde(rename = "rad/s")]
    RadiansPerSecond,
    /// Degrees per second.
    #[serde(rename = "deg/s")]
    DegreesPerSecond,
}

impl AccUnit {
    /// Factor that converts a value in this unit to m/s^2.
    pub fn to_mps2(self) -> f32 {
        match self {
            AccUnit::MetresPerSecondSquared => 1.0,
            AccUnit::StandardGravity => STANDARD_GRAVITY_MPS2 as f32,
        }
    }
}

impl GyroUnit {
    /// Factor that converts a value in this unit to rad/s.
    pub fn to_rads(self) -> f32 {
        match self {
            GyroUnit::RadiansPerSecond => 1.0,
            GyroUnit::DegreesPerSecond => std::f32::consts::PI / 180.0,
        }
    }
}

/// Units of the signals as stored in the files; `pim` converts to m/s^2 and rad/s on
/// reading. The magnetometer's unit does not matter: only its direction is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Units {
    /// Accelerometer unit.
    pub acc: AccUnit,
    /// Gyroscope unit.
    #[serde(default = "default_gyro_unit")]
    pub gyro: GyroUnit,
}

impl Units {
    /// Factor that converts a stored value of `modality` to SI (the magnetometer is kept
    /// in its own unit).
    pub fn factor(&self, modality: Modality) -> f32 {
        match modality {
            Modality::Acc => self.acc.to_mps2(),
            Modality::Gyro => self.gyro.to_rads(),
            Modality::Mag => 1.0,
        }
    }
}

fn default_gyro_unit() -> GyroUnit {
    GyroUnit::RadiansPerSecond
}

/// The three modalities an IMU sensor may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// Accelerometer (required for every sensor).
    Acc,
    /// Gyroscope.
    Gyro,
    /// Magnetometer.
    Mag,
}

impl Modality {
    /// Every modality, in channel order.
    pub const ALL: [Modality; 3] = [Modality::Acc, Modality::Gyro, Modality::Mag];

    /// The name used in column headers and channel names.
    pub fn name(self) -> &'static str {
        match self {
            Modality::Acc => "acc",
            Modality::Gyro => "gyro",
            Modality::Mag => "mag",
        }
    }
}

/// Names of the three axes, in order.
pub const AXES: [&str; 3] = ["x", "y", "z"];

/// Zero-based column indices of one sensor's modalities in a header-less file (DSADS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorColumns {
    /// Accelerometer x, y, z columns.
    pub acc: [usize; 3],
    /// Gyroscope x, y, z columns, if the sensor has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gyro: Option<[usize; 3]>,
    /// Magnetometer x, y, z columns, if the sensor has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mag: Option<[usize; 3]>,
}

impl SensorColumns {
    /// The columns of one modality, if present.
    pub fn get(&self, modality: Modality) -> Option<[usize; 3]> {
        match modality {
            Modality::Acc => Some(self.acc),
            Modality::Gyro => self.gyro,
            Modality::Mag => self.mag,
        }
    }
}

/// One IMU sensor (body location).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorConfig {
    /// Name used in column names, e.g. `right_arm`.
    pub name: String,
    /// Column indices (header-less formats). Omit for the CSV format, whose header names
    /// the columns `<sensor>.<modality>.<axis>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<SensorColumns>,
    /// Modalities to read for the CSV format (acc is always read). Ignored otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modalities: Vec<Modality>,
}

impl SensorConfig {
    /// Whether this sensor provides the given modality.
    pub fn has(&self, modality: Modality) -> bool {
        match &self.columns {
            Some(columns) => columns.get(modality).is_some(),
            None => modality == Modality::Acc || self.modalities.contains(&modality),
        }
    }
}

/// A left/right pair of sensors on homologous limbs, compared by the symmetry task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairConfig {
    /// Sensor on the left limb.
    pub left: String,
    /// Sensor on the right limb.
    pub right: String,
}

/// Sliding windows, in samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Samples per window (at least what the model's kernels need: `ModelConfig::min_window`).
    pub length: usize,
    /// Samples between the starts of consecutive windows (1..=length means overlap or
    /// abutting windows; larger leaves gaps).
    pub hop: usize,
}

/// Subject-wise split: which subjects train, select checkpoints, and test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// Subjects whose windows pre-train, fit the discretiser and draw the k-shot sets.
    pub train: Vec<String>,
    /// Subjects used to select checkpoints.
    pub validation: Vec<String>,
    /// Held-out subjects for the reported figures.
    pub test: Vec<String>,
}

/// Which part of the split a subject belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitRole {
    /// Training subjects.
    Train,
    /// Validation subjects.
    Validation,
    /// Test subjects.
    Test,
}

impl SplitRole {
    /// Every role: a stage that needs every subject's windows.
    pub const ALL: [SplitRole; 3] = [SplitRole::Train, SplitRole::Validation, SplitRole::Test];
}

impl SplitConfig {
    /// The role of a subject, or `None` if the split does not name it.
    pub fn role_of(&self, subject: &str) -> Option<SplitRole> {
        let named = |list: &[String]| list.iter().any(|s| s == subject);
        if named(&self.train) {
            Some(SplitRole::Train)
        } else if named(&self.validation) {
            Some(SplitRole::Validation)
        } else if named(&self.test) {
            Some(SplitRole::Test)
        } else {
            None
        }
    }

    /// Every subject, train first, in config order.
    pub fn subjects(&self) -> impl Iterator<Item = &String> {
        self.train.iter().chain(&self.validation).chain(&self.test)
    }
}

/// One activity class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassConfig {
    /// Label as it appears in the data (DSADS: the folder `a01`; CSV: the `activity` value).
    pub id: String,
    /// Human-readable name written to the outputs.
    pub name: String,
}

/// The dataset group of a config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// Short dataset name, e.g. `dsads`.
    pub name: String,
    /// On-disk layout.
    pub format: DatasetFormat,
    /// Sampling rate in Hz.
    pub sampling_rate_hz: f64,
    /// Units of the stored signals.
    pub units: Units,
    /// Sensors, in the channel order of the network input.
    pub sensors: Vec<SensorConfig>,
    /// Left/right pairs for the symmetry task (may be empty: the task is then dropped).
    #[serde(default)]
    pub pairs: Vec<PairConfig>,
    /// Windowing.
    pub window: WindowConfig,
    /// Subject split.
    pub split: SplitConfig,
    /// Activity classes, in class-index order.
    pub classes: Vec<ClassConfig>,
    /// Sub-folders holding the files (PAMAP2: `Protocol`, and `Optional` for the optional
    /// activities); empty for the other formats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<String>,
    /// The class id of samples without a label (WEAR's empty label, MM-Fit's samples outside
    /// every exercise); `null` keeps them unlabelled: pre-training uses them, fine-tuning
    /// and evaluation do not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_class: Option<String>,
}

/// The highest sampling rate a config may name, in Hz.
pub const MAX_SAMPLING_RATE_HZ: f64 = 100_000.0;

impl DatasetConfig {
    /// Check ranges and cross-references; `path` names the config file in errors.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let invalid = |field: String, problem: String, fix: &str| Error::invalid_config(path, field, problem, fix);
        // No IMU samples faster than 100 kHz: a larger rate is a unit slip (Hz for ms, say).
        if !(self.sampling_rate_hz > 0.0 && self.sampling_rate_hz <= MAX_SAMPLING_RATE_HZ) {
            return Err(invalid(
                "dataset.sampling_rate_hz".into(),
                format!("is {}", self.sampling_rate_hz),
                "give the sampling rate in Hz, a positive number up to 100,000",
            ));
        }
        self.validate_sensors(path)?;
        if self.window.hop == 0 {
            return Err(invalid(
                "dataset.window.hop".into(),
                "is 0".into(),
                "use a hop of at least 1 sample (equal to length for no overlap)",
            ));
        }
        if self.split.train.is_empty() {
            return Err(invalid("dataset.split.train".into(), "is empty".into(), "name at least one training subject"));
        }
        let mut seen = HashSet::new();
        for subject in self.split.subjects() {
            if !seen.insert(subject) {
                return Err(invalid(
                    "dataset.split".into(),
                    format!("names subject {subject:?} twice"),
                    "put each subject in exactly one of train, validation, test",
                ));
            }
        }
        if self.classes.is_empty() {
            return Err(invalid("dataset.classes".into(), "is empty".into(), "list the activity classes"));
        }
        let (mut ids, mut class_names) = (HashSet::new(), HashSet::new());
        for (i, class) in self.classes.iter().enumerate() {
            if class.id.is_empty() || !ids.insert(class.id.as_str()) {
                return Err(invalid(
                    format!("dataset.classes[{i}].id"),
                    format!("is empty or repeats {:?}", class.id),
                    "give every class a distinct, non-empty id",
                ));
            }
            if class.name.is_empty() || !class_names.insert(class.name.as_str()) {
                return Err(invalid(
                    format!("dataset.classes[{i}].name"),
                    format!("is empty or repeats {:?}", class.name),
                    "give every class a distinct, non-empty name (the outputs use it)",
                ));
            }
        }
        self.validate_format_fields(path)
    }

    /// Sensor names and columns, and the pairs naming them.
    fn validate_sensors(&self, path: &Path) -> Result<()> {
        let invalid = |field: String, problem: String, fix: &str| Error::invalid_config(path, field, problem, fix);
        if self.sensors.is_empty() {
            return Err(invalid("dataset.sensors".into(), "is empty".into(), "list at least one sensor"));
        }
        let mut names = HashSet::new();
        for (i, sensor) in self.sensors.iter().enumerate() {
            let valid_name = !sensor.name.is_empty()
                && sensor.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid_name {
                return Err(invalid(
                    format!("dataset.sensors[{i}].name"),
                    format!("is {:?}", sensor.name),
                    "use letters, digits, '_' or '-' (it becomes part of column names)",
                ));
            }
            if !names.insert(sensor.name.as_str()) {
                return Err(invalid(
                    format!("dataset.sensors[{i}].name"),
                    format!("repeats {:?}", sensor.name),
                    "give every sensor a distinct name",
                ));
            }
            match (self.format.has_column_numbers(), &sensor.columns) {
                (true, None) => {
                    return Err(invalid(
                        format!("dataset.sensors[{i}].columns"),
                        "is missing".into(),
                        "give the zero-based columns of acc (and gyro, mag) for header-less files",
                    ));
                }
                (false, Some(_)) => {
                    return Err(invalid(
                        format!("dataset.sensors[{i}].columns"),
                        format!("is set for the {} format, whose files name their columns", self.format.name()),
                        "remove it: the sensor's name and modalities select the columns",
                    ));
                }
                _ => {}
            }
        }
        for (i, pair) in self.pairs.iter().enumerate() {
            for (side, name) in [("left", &pair.left), ("right", &pair.right)] {
                if !names.contains(name.as_str()) {
                    return Err(invalid(
                        format!("dataset.pairs[{i}].{side}"),
                        format!("names sensor {name:?}, which is not in dataset.sensors"),
                        &format!("use one of {:?}", self.sensors.iter().map(|s| &s.name).collect::<Vec<_>>()),
                    ));
                }
            }
            if pair.left == pair.right {
                return Err(invalid(
                    format!("dataset.pairs[{i}]"),
                    format!("pairs {:?} with itself", pair.left),
                    "pair a left-limb sensor with the right-limb one",
                ));
            }
        }
        Ok(())
    }

    /// The fields only some formats read: `null_class` (WEAR, MM-Fit) and `folders` (PAMAP2).
    fn validate_format_fields(&self, path: &Path) -> Result<()> {
        let invalid = |field: &str, problem: String, fix: String| Error::invalid_config(path, field, problem, fix);
        if let Some(null) = &self.null_class {
            if !matches!(self.format, DatasetFormat::Wear | DatasetFormat::Mmfit) {
                let problem = format!("is set, but the {} format has no unlabelled samples", self.format.name());
                return Err(invalid("dataset.null_class", problem, "remove it".into()));
            }
            if self.class_by_id(null).is_none() {
                let fix =
                    "add a class with that id (e.g. {\"id\": \"null\", \"name\": \"null\"}), or remove null_class";
                return Err(invalid(
                    "dataset.null_class",
                    format!("is {null:?}, not a class id in dataset.classes"),
                    fix.into(),
                ));
            }
        }
        match (self.format, self.folders.is_empty()) {
            (DatasetFormat::Pamap2, true) => Err(invalid(
                "dataset.folders",
                "is empty".into(),
                "list the sub-folders to read: [\"Protocol\"], or [\"Protocol\", \"Optional\"]".into(),
            )),
            (DatasetFormat::Pamap2, false) => Ok(()),
            (format, false) => Err(invalid(
                "dataset.folders",
                format!("is set, but only the pamap2 format reads it, not {}", format.name()),
                "remove it".into(),
            )),
            (_, true) => Ok(()),
        }
    }

    /// Index of a sensor by name.
    pub fn sensor_index(&self, name: &str) -> Option<usize> {
        self.sensors.iter().position(|s| s.name == name)
    }

    /// The class whose id is `id`.
    pub fn class_by_id(&self, id: &str) -> Option<&ClassConfig> {
        self.classes.iter().find(|c| c.id == id)
    }

    /// Channel names of the network input, in order: for each sensor, each modality it
    /// has, x y z (`torso.acc.x`, ...).
    pub fn channel_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for sensor in &self.sensors {
            for modality in Modality::ALL.into_iter().filter(|&m| sensor.has(m)) {
                for axis in AXES {
                    names.push(format!("{}.{}.{}", sensor.name, modality.name(), axis));
                }
            }
        }
        names
    }
}
