//! The readers of PAMAP2, WEAR, MM-Fit and USC-HAD on tiny fixtures in their published
//! layouts, against an independent reading by numpy and scipy
//! (`scripts/reference/reader_fixtures.py`, which wrote the fixtures and
//! `tests/fixtures/readers/expected.json`).

use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use pim::data::dataset_config::SplitConfig;
use pim::data::{DatasetConfig, read_dataset};
use pim::presets;
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    recordings: Vec<ExpectedRecording>,
    filled: usize,
}

#[derive(Deserialize)]
struct ExpectedRecording {
    subject: String,
    activity: String,
    source: String,
    start: usize,
    samples: Vec<Vec<f32>>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/readers")
}

fn expected(name: &str) -> Expected {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    let mut all: std::collections::BTreeMap<String, Expected> = serde_json::from_str(&text).unwrap();
    all.remove(name).unwrap()
}

/// The preset's dataset config with the fixture's subjects as the split.
fn preset(name: &str, train: &[&str], validation: &[&str], test: &[&str]) -> DatasetConfig {
    let mut config = presets::find(name).unwrap().config().dataset;
    let names = |s: &[&str]| s.iter().map(|n| n.to_string()).collect();
    config.split = SplitConfig { train: names(train), validation: names(validation), test: names(test) };
    config
}

/// Read `dir` and compare every recording, value by value (relative tolerance 1e-5: the
/// oracle interpolates in f64, pim in f32).
fn check(name: &str, dir: &Path, config: &DatasetConfig) {
    let found = read_dataset(dir, config, &ProgressBar::hidden()).unwrap();
    let expected = expected(name);
    let filled_notice = found.notices.iter().find_map(|n| n.split(' ').next()?.parse::<usize>().ok());
    assert_eq!(filled_notice.unwrap_or(0), expected.filled, "{name}: notices {:?}", found.notices);
    assert_eq!(found.recordings.len(), expected.recordings.len(), "{name}: recordings");
    for (got, want) in found.recordings.iter().zip(&expected.recordings) {
        let at = format!("{name} {} from {}", want.source, want.start);
        assert_eq!(
            (&got.subject, &got.activity, &got.source, got.start),
            (&want.subject, &want.activity, &want.source, want.start),
            "{at}"
        );
        assert_eq!(got.samples.nrows(), want.samples.len(), "{at}: channels");
        for (c, (row, want_row)) in got.samples.rows().into_iter().zip(&want.samples).enumerate() {
            assert_eq!(row.len(), want_row.len(), "{at}: samples of channel {c}");
            for (t, (g, w)) in row.iter().zip(want_row).enumerate() {
                assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "{at}: channel {c} sample {t}: {g} vs {w}");
            }
        }
    }
}

#[test]
fn pamap2_drops_transients_cuts_at_time_jumps_and_fills_dropped_packets() {
    check("pamap2", &fixtures().join("pamap2"), &preset("pamap2", &["101"], &["102"], &["103"]));
}

#[test]
fn wear_keeps_the_null_class_unlabelled_and_fills_empty_fields() {
    check("wear", &fixtures().join("wear"), &preset("wear", &["sbj_0"], &["sbj_1"], &["sbj_2"]));
}

#[test]
fn wear_null_class_names_the_unlabelled_samples_when_set() {
    let mut config = preset("wear", &["sbj_0"], &["sbj_1"], &["sbj_2"]);
    config.null_class = Some("jogging".into());
    let found = read_dataset(&fixtures().join("wear"), &config, &ProgressBar::hidden()).unwrap();
    // sbj_0: NULL, jogging, NULL, push-ups, NULL; with NULL as jogging the first three merge.
    let activities: Vec<&str> =
        found.recordings.iter().filter(|r| r.subject == "sbj_0").map(|r| r.activity.as_str()).collect();
    assert_eq!(activities, ["jogging", "push-ups", "jogging"]);
}

#[test]
fn mmfit_resamples_the_streams_onto_one_clock_and_labels_by_frame() {
    check("mmfit", &fixtures().join("mmfit"), &preset("mmfit", &["w00"], &["w01"], &["w02"]));
}

#[test]
fn usc_had_takes_the_activity_from_the_file_name() {
    let config = preset("usc-had", &["Subject1"], &["Subject2"], &["Subject3"]);
    check("usc-had", &fixtures().join("usc-had"), &config);
}

/// A copy of the USC-HAD fixture (3 subjects, trials a1t1 and a2t1) without `left_out`.
fn usc_had_copy(left_out: Option<(&str, &str)>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("USC-HAD");
    for subject in ["Subject1", "Subject2", "Subject3"] {
        std::fs::create_dir_all(copy.join(subject)).unwrap();
        for trial in ["a1t1.mat", "a2t1.mat"] {
            if left_out != Some((subject, trial)) {
                std::fs::copy(
                    fixtures().join("usc-had/USC-HAD").join(subject).join(trial),
                    copy.join(subject).join(trial),
                )
                .unwrap();
            }
        }
    }
    dir
}

#[test]
fn usc_had_refuses_a_half_extracted_archive_naming_the_missing_file() {
    let dir = usc_had_copy(Some(("Subject2", "a2t1.mat")));
    let config = preset("usc-had", &["Subject1"], &["Subject2"], &["Subject3"]);
    let error = read_dataset(dir.path(), &config, &ProgressBar::hidden()).unwrap_err().to_string();
    assert!(error.contains("Subject2/a2t1.mat") && error.contains("is missing, but 2 of 3"), "{error}");
}

#[test]
fn usc_had_skips_plot_scripts_and_names_stray_files_and_missing_subjects() {
    let config = preset("usc-had", &["Subject1"], &["Subject2"], &["Subject3"]);
    let read = |dir: &Path| read_dataset(dir, &config, &ProgressBar::hidden());
    let dir = usc_had_copy(None);
    let subject1 = dir.path().join("USC-HAD/Subject1");
    std::fs::write(subject1.join("plot_trial.m"), "% the release's plotting script").unwrap();
    assert!(read(dir.path()).is_ok(), "a .m script next to the trials is skipped");
    std::fs::write(subject1.join("notes.txt"), "x").unwrap();
    let stray = read(dir.path()).unwrap_err().to_string();
    assert!(stray.contains("Subject1/notes.txt") && stray.contains("is not a USC-HAD trial file"), "{stray}");
    std::fs::remove_file(subject1.join("notes.txt")).unwrap();
    std::fs::copy(subject1.join("a1t1.mat"), subject1.join("a99t1.mat")).unwrap();
    let unknown = read(dir.path()).unwrap_err().to_string();
    assert!(unknown.contains("a99t1.mat") && unknown.contains("activity 99, which dataset.classes"), "{unknown}");
    std::fs::remove_file(subject1.join("a99t1.mat")).unwrap();
    std::fs::remove_dir_all(dir.path().join("USC-HAD/Subject3")).unwrap();
    let missing = read(dir.path()).unwrap_err().to_string();
    assert!(missing.contains("Subject3") && missing.contains("is missing (the subject is named"), "{missing}");
}

#[test]
fn pamap2_names_the_file_and_line_of_a_short_row() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("Protocol")).unwrap();
    let good = std::fs::read_to_string(fixtures().join("pamap2/Protocol/subject101.dat")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines[6] = "5.06 1 NaN 1.0 2.0";
    std::fs::write(dir.path().join("Protocol/subject101.dat"), lines.join("\n")).unwrap();
    let config = preset("pamap2", &["101"], &["102"], &["103"]);
    let error = read_dataset(dir.path(), &config, &ProgressBar::hidden()).unwrap_err().to_string();
    assert!(error.contains("subject101.dat:7:") && error.contains("has 5 values"), "{error}");
}

#[test]
fn format_fields_are_checked_against_the_format() {
    let path = Path::new("c.json");
    let mut wear = preset("wear", &["sbj_0"], &["sbj_1"], &["sbj_2"]);
    wear.null_class = Some("null".into());
    let error = wear.validate(path).unwrap_err().to_string();
    assert!(error.contains("dataset.null_class") && error.contains("not a class id"), "{error}");
    wear.null_class = None;
    wear.folders = vec!["Protocol".into()];
    let error = wear.validate(path).unwrap_err().to_string();
    assert!(error.contains("dataset.folders") && error.contains("only the pamap2 format"), "{error}");
    let mut pamap2 = preset("pamap2", &["101"], &["102"], &["103"]);
    pamap2.folders.clear();
    assert!(pamap2.validate(path).unwrap_err().to_string().contains("dataset.folders"));
    pamap2.folders = vec!["Protocol".into()];
    pamap2.null_class = Some("1".into());
    assert!(pamap2.validate(path).unwrap_err().to_string().contains("no unlabelled samples"));
}

/// A copy of the fixture `name` in a temporary folder, for breaking.
fn copy_of(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut stack = vec![fixtures().join(name)];
    while let Some(from) = stack.pop() {
        let to = dir.path().join(from.strip_prefix(fixtures().join(name)).unwrap());
        if from.is_dir() {
            std::fs::create_dir_all(&to).unwrap();
            stack.extend(std::fs::read_dir(&from).unwrap().map(|e| e.unwrap().path()));
        } else {
            std::fs::copy(&from, &to).unwrap();
        }
    }
    dir
}

fn read_error(dir: &Path, config: &DatasetConfig) -> String {
    read_dataset(dir, config, &ProgressBar::hidden()).unwrap_err().to_string()
}

#[test]
fn wear_names_the_file_and_line_of_an_unknown_label() {
    let dir = copy_of("wear");
    let file = dir.path().join("sbj_1.csv");
    let text = std::fs::read_to_string(&file).unwrap().replacen("lunges", "lunges (sideways)", 1);
    std::fs::write(&file, text).unwrap();
    let error = read_error(dir.path(), &preset("wear", &["sbj_0"], &["sbj_1"], &["sbj_2"]));
    assert!(error.contains("sbj_1.csv:11: label \"lunges (sideways)\" is not a class id"), "{error}");
}

#[test]
fn wear_names_a_missing_column_and_a_field_that_is_not_a_number() {
    let config = preset("wear", &["sbj_0"], &["sbj_1"], &["sbj_2"]);
    let broken = |edit: &dyn Fn(String) -> String| {
        let dir = copy_of("wear");
        let file = dir.path().join("sbj_1.csv");
        std::fs::write(&file, edit(std::fs::read_to_string(&file).unwrap())).unwrap();
        read_error(dir.path(), &config)
    };
    let error = broken(&|text| text.replacen("left_leg_acc_y", "left_leg_acc_q", 1));
    assert!(error.contains("sbj_1.csv:1: has no column \"left_leg_acc_y\""), "{error}");
    let error = broken(&|text| text.replacen(",label", ",activity", 1));
    assert!(error.contains("sbj_1.csv:1: has no `label` column"), "{error}");
    let error = broken(&|text| {
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let fields: Vec<&str> = lines[3].split(',').collect();
        lines[3] = [&fields[..5], &["1.5g"], &fields[6..]].concat().join(",");
        lines.join("\n") + "\n"
    });
    assert!(error.contains("sbj_1.csv:4: column 6 is \"1.5g\", not a number"), "{error}");
}

#[test]
fn mmfit_labels_past_the_data_are_named() {
    let dir = copy_of("mmfit");
    std::fs::write(dir.path().join("w01/w01_labels.csv"), "start,end,reps,exercise\n15,4500,6,lunges\n").unwrap();
    let error = read_error(dir.path(), &preset("mmfit", &["w00"], &["w01"], &["w02"]));
    assert!(error.contains("w01_labels.csv:2: labels lunges up to frame 4500, past the data's last frame"), "{error}");
}

#[test]
fn usc_had_trial_without_sensor_readings_is_named() {
    let dir = copy_of("usc-had");
    std::fs::copy(fixtures().join("no-sensor-readings.mat"), dir.path().join("USC-HAD/Subject3/a2t1.mat")).unwrap();
    let error = read_error(dir.path(), &preset("usc-had", &["Subject1"], &["Subject2"], &["Subject3"]));
    assert!(error.contains("Subject3/a2t1.mat: has no sensor_readings matrix"), "{error}");
}
