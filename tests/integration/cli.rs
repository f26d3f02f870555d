//! `pim pseudo-label` as a black box: the bundled sample end to end, the generic CSV
//! format, and every kind of bad input giving one clear error, exit code 1 and no output.

use std::fs;
use std::path::Path;

use crate::common::{copy_dir, files_in, fixture, pim, pseudo_label, read_csv, root};
use predicates::str::contains;

const OUTPUTS: [&str; 8] = [
    "config.json",
    "discretiser.json",
    "features.csv",
    "labels.csv",
    "run.json",
    "windows.csv",
    "windows.npy",
    "windows.sums.json",
];

#[test]
fn help_lists_the_pseudo_label_command() {
    pim().arg("--help").assert().success().stdout(contains("pseudo-label"));
}

#[test]
fn bundled_sample_gives_304_windows_of_22_quantities_with_bins_in_range() {
    let out = tempfile::tempdir().unwrap();
    pseudo_label(&root().join("configs/dsads.json"), &root().join("data/dsads-sample"), out.path())
        .assert()
        .success()
        .stderr(contains("304 windows (190 training) x 22 quantities"));
    assert_eq!(files_in(out.path()), OUTPUTS, "exactly the outputs, no temporary files");

    let (header, features) = read_csv(&out.path().join("features.csv"));
    let (label_header, labels) = read_csv(&out.path().join("labels.csv"));
    assert_eq!(header, label_header);
    assert_eq!(&header[..4], ["subject", "activity", "source", "start"]);
    assert_eq!(header.len(), 4 + 22);
    assert_eq!(header[4], "speed.torso");
    assert_eq!(header[9..12], ["angle.torso.roll", "angle.torso.pitch", "angle.torso.yaw"]);
    assert_eq!(header[24..], ["symmetry.left_arm.right_arm", "symmetry.left_leg.right_leg"]);
    assert_eq!(features.len(), 304);
    assert_eq!(features[0][..4], ["p1", "sitting", "a01/p1/s01.txt", "0"]);
    for (f, l) in features.iter().zip(&labels) {
        assert_eq!(f[..4], l[..4], "features and labels rows line up");
        for value in &f[4..] {
            assert!(value.parse::<f64>().unwrap().is_finite(), "non-finite feature {value}");
        }
        for bin in &l[4..] {
            assert!(bin.parse::<u8>().unwrap() <= 10, "bin {bin} out of 0..=10");
        }
    }
    // Fitted on the training subjects only: their windows span every bin's end points.
    let train: Vec<_> = labels.iter().filter(|r| ["p1", "p2", "p3", "p4", "p5"].contains(&r[0].as_str())).collect();
    for column in 4..header.len() {
        let bins: Vec<u8> = train.iter().map(|r| r[column].parse().unwrap()).collect();
        assert_eq!(bins.iter().min(), Some(&0), "{}: no training window in bin 0", header[column]);
        assert_eq!(bins.iter().max(), Some(&10), "{}: no training window in bin 10", header[column]);
    }

    let config: serde_json::Value = serde_json::from_slice(&fs::read(out.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(config["dataset"]["name"], "dsads");
    assert_eq!(config["physics"]["gravity_cutoff_hz"], 0.3);
    let discretiser: serde_json::Value =
        serde_json::from_slice(&fs::read(out.path().join("discretiser.json")).unwrap()).unwrap();
    assert_eq!(discretiser["columns"].as_array().unwrap().len(), 22);
    assert_eq!(discretiser["columns"][0]["edges"].as_array().unwrap().len(), 12);
    let run: serde_json::Value = serde_json::from_slice(&fs::read(out.path().join("run.json")).unwrap()).unwrap();
    assert_eq!(run["stage"], "pseudo-label");
    assert_eq!(run["details"]["windows_by_split"]["validation"], 38);
    assert_eq!(run["details"]["quantities"][7]["yaw_source"], "magnetometer");
    // The commit that built pim is the checkout's HEAD (tests build from it).
    if let Some(head) = head_commit() {
        let commit = run["pim_commit"].as_str().unwrap();
        assert!(commit.starts_with(&head), "run.json's pim_commit {commit:?} is not HEAD {head:?}");
    }
}

/// The checkout's HEAD, abbreviated to 7 digits, where git can tell.
fn head_commit() -> Option<String> {
    let head = std::process::Command::new("git").args(["rev-parse", "--short=7", "HEAD"]).output().ok()?;
    head.status.success().then(|| String::from_utf8(head.stdout).unwrap().trim().to_string())
}

#[test]
fn version_names_the_commit() {
    let version = env!("CARGO_PKG_VERSION");
    let expected = match head_commit() {
        Some(head) => format!("pim {version} (commit {head}"),
        None => format!("pim {version} (commit "),
    };
    pim().arg("--version").assert().success().stdout(contains(expected));
}

#[test]
fn same_input_gives_byte_identical_outputs() {
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for out in [&first, &second] {
        pseudo_label(&fixture("dsads-tiny.json"), &fixture("dsads-tiny"), out.path()).assert().success();
    }
    for name in ["features.csv", "labels.csv", "discretiser.json", "config.json"] {
        assert_eq!(fs::read(first.path().join(name)).unwrap(), fs::read(second.path().join(name)).unwrap(), "{name}");
    }
}

#[test]
fn uci_archive_parent_folder_works_too() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture("dsads-tiny"), &dir.path().join("data"));
    let out = dir.path().join("out");
    pseudo_label(&fixture("dsads-tiny.json"), dir.path(), &out).assert().success();
    assert_eq!(read_csv(&out.join("features.csv")).1.len(), 4);
}

#[test]
fn generic_csv_is_cut_at_label_changes_and_converted_from_g() {
    let out = tempfile::tempdir().unwrap();
    pseudo_label(&fixture("csv-tiny.json"), &fixture("csv-tiny"), out.path())
        .assert()
        .success()
        .stderr(contains("2 of 6 recordings are shorter than one window"));
    let (header, rows) = read_csv(&out.path().join("features.csv"));
    assert_eq!(header.len(), 4 + 2 + 6 + 1);
    let keys: Vec<_> = rows.iter().map(|r| (r[0].as_str(), r[1].as_str(), r[3].as_str())).collect();
    assert_eq!(
        keys,
        [("s1", "sitting", "0"), ("s1", "walking", "60"), ("s2", "sitting", "150"), ("s2", "walking", "210")]
    );
    // Walking moves the wrists faster than sitting.
    let speed = |row: &Vec<String>| row[4].parse::<f64>().unwrap();
    assert!(speed(&rows[1]) > 10.0 * speed(&rows[0]));
}

#[test]
fn dataset_without_pairs_drops_symmetry_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        edit_config(&fixture("dsads-tiny.json"), dir.path(), |c| c["dataset"]["pairs"] = serde_json::json!([]));
    let out = dir.path().join("out");
    pseudo_label(&config, &fixture("dsads-tiny"), &out)
        .assert()
        .success()
        .stderr(contains("notice: dataset dsads-tiny has no left/right sensor pairs: the symmetry task is dropped"));
    let (header, _) = read_csv(&out.join("labels.csv"));
    assert_eq!(header.len(), 4 + 20);
    assert!(!header.iter().any(|h| h.starts_with("symmetry")));
}

/// Write a modified copy of a config into `dir`.
fn edit_config(config: &Path, dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> std::path::PathBuf {
    let mut value: serde_json::Value = serde_json::from_slice(&fs::read(config).unwrap()).unwrap();
    edit(&mut value);
    let path = dir.join("config.json");
    fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    path
}

/// Run on a broken copy of the tiny DSADS fixture and check the error and that nothing
/// was written.
fn assert_dsads_fails(break_it: impl FnOnce(&Path), expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(&fixture("dsads-tiny"), &data);
    break_it(&data);
    let out = dir.path().join("out");
    let mut assert = pseudo_label(&fixture("dsads-tiny.json"), &data, &out).assert().failure().code(1);
    for text in expected {
        assert = assert.stderr(contains(*text));
    }
    assert_eq!(files_in(&out), Vec::<String>::new(), "a failed run left files behind");
}

fn rewrite_line(file: &Path, line: usize, edit: impl FnOnce(&str) -> String) {
    let text = fs::read_to_string(file).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[line - 1] = edit(&lines[line - 1]);
    fs::write(file, lines.join("\n") + "\n").unwrap();
}

#[test]
fn missing_data_folder_is_named() {
    let out = tempfile::tempdir().unwrap();
    pseudo_label(&fixture("dsads-tiny.json"), Path::new("no/such/folder"), out.path())
        .assert()
        .failure()
        .code(1)
        .stderr(contains("no/such/folder: is not a folder; pass --data-dir"));
}

#[test]
fn missing_segment_file_is_named() {
    assert_dsads_fails(
        |d| fs::remove_file(d.join("a09/p2/s01.txt")).unwrap(),
        &["a09/p2/s01.txt: is missing, but 3 of 4 folders hold it (e.g. a01/p1/s01.txt)", "re-extract the dataset"],
    );
}

#[test]
fn missing_activity_folder_is_named() {
    assert_dsads_fails(|d| fs::remove_dir_all(d.join("a09")).unwrap(), &["a09: is missing", "walking_in_parking_lot"]);
}

#[test]
fn extra_file_is_named() {
    assert_dsads_fails(
        |d| fs::write(d.join("a01/p1/notes.txt"), "hello").unwrap(),
        &["a01/p1/notes.txt: is not a DSADS segment file", "remove it"],
    );
}

#[test]
fn extra_segment_is_named() {
    assert_dsads_fails(
        |d| fs::copy(d.join("a01/p1/s01.txt"), d.join("a01/p1/s02.txt")).map(drop).unwrap(),
        &["a01/p1/s02.txt: has no counterpart in 3 of 4 folders (e.g. a01/p2/s02.txt)"],
    );
}

#[test]
fn extra_activity_folder_is_named() {
    assert_dsads_fails(
        |d| fs::create_dir(d.join("a20")).unwrap(),
        &["a20: is not an activity listed in dataset.classes"],
    );
}

#[test]
fn missing_subject_folder_is_named() {
    assert_dsads_fails(
        |d| fs::remove_dir_all(d.join("a09/p2")).unwrap(),
        &["a09/p2: is missing (the subject is named in dataset.split)", "re-extract the dataset"],
    );
}

#[test]
fn unknown_subject_folder_is_named() {
    assert_dsads_fails(
        |d| fs::create_dir(d.join("a01/p9")).unwrap(),
        &["a01/p9: is not a subject folder named in dataset.split", "add the subject to dataset.split"],
    );
}

#[test]
fn row_with_the_wrong_number_of_values_names_file_and_line() {
    assert_dsads_fails(
        |d| rewrite_line(&d.join("a01/p2/s01.txt"), 7, |l| l.rsplit_once(',').unwrap().0.to_string()),
        &["a01/p2/s01.txt:7: has 44 values, DSADS rows have 45"],
    );
}

#[test]
fn non_numeric_value_names_file_line_and_column() {
    assert_dsads_fails(
        |d| {
            rewrite_line(&d.join("a09/p1/s01.txt"), 3, |l| {
                let mut fields: Vec<&str> = l.split(',').collect();
                fields[1] = "abc";
                fields.join(",")
            })
        },
        &["a09/p1/s01.txt:3: column 2 is \"abc\", not a number"],
    );
}

#[test]
fn non_finite_value_names_file_line_and_column() {
    assert_dsads_fails(
        |d| rewrite_line(&d.join("a09/p1/s01.txt"), 125, |l| format!("NaN{}", &l[l.find(',').unwrap()..])),
        &["a09/p1/s01.txt:125: column 1 is \"NaN\", not a finite number", "interpolate or drop"],
    );
}

#[test]
fn truncated_segment_is_named() {
    assert_dsads_fails(
        |d| {
            let file = d.join("a01/p1/s01.txt");
            let text = fs::read_to_string(&file).unwrap();
            let kept: Vec<&str> = text.lines().take(100).collect();
            fs::write(&file, kept.join("\n") + "\n").unwrap();
        },
        &["a01/p1/s01.txt: has 100 rows, DSADS segments have 125"],
    );
}

#[test]
fn window_shorter_than_the_encoder_needs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = edit_config(&fixture("dsads-tiny.json"), dir.path(), |c| c["dataset"]["window"]["length"] = 40.into());
    pseudo_label(&config, &fixture("dsads-tiny"), &dir.path().join("out"))
        .assert()
        .failure()
        .code(1)
        .stderr(contains("`dataset.window.length` is 40 samples, shorter than the 46 model.kernels need"));
}

#[test]
fn pair_naming_an_unknown_sensor_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = edit_config(&fixture("dsads-tiny.json"), dir.path(), |c| {
        c["dataset"]["pairs"][1]["right"] = "right_foot".into()
    });
    pseudo_label(&config, &fixture("dsads-tiny"), &dir.path().join("out"))
        .assert()
        .failure()
        .stderr(contains("`dataset.pairs[1].right` names sensor \"right_foot\", which is not in dataset.sensors"));
}

#[test]
fn misspelt_config_field_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = edit_config(&fixture("dsads-tiny.json"), dir.path(), |c| {
        c["physics"]["gravity_cutof_hz"] = 0.3.into();
    });
    pseudo_label(&config, &fixture("dsads-tiny"), &dir.path().join("out"))
        .assert()
        .failure()
        .stderr(contains("unknown field `gravity_cutof_hz`"))
        .stderr(contains("line"));
}

#[test]
fn unwritable_output_folder_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    fs::write(&blocker, "").unwrap();
    pseudo_label(&fixture("dsads-tiny.json"), &fixture("dsads-tiny"), &blocker.join("out"))
        .assert()
        .failure()
        .code(1)
        .stderr(contains("cannot create folder"))
        .stderr(contains("choose a --out folder you can write to"));
}

/// Run on a broken copy of the tiny CSV fixture (as `r.csv`) and check the error and that
/// nothing was written.
fn assert_csv_fails(break_it: impl FnOnce(&Path), expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::copy(fixture("csv-tiny/recordings.csv"), data.join("r.csv")).unwrap();
    break_it(&data.join("r.csv"));
    let out = dir.path().join("out");
    pseudo_label(&fixture("csv-tiny.json"), &data, &out).assert().failure().code(1).stderr(contains(expected));
    assert_eq!(files_in(&out), Vec::<String>::new(), "a failed run left files behind");
}

#[test]
fn csv_with_a_missing_sensor_column_is_named() {
    assert_csv_fails(
        |file| rewrite_line(file, 1, |header| header.replacen("right_wrist.acc.z", "right_wrist.acc.w", 1)),
        "r.csv: has no column \"right_wrist.acc.z\" in its header (line 1)",
    );
}

#[test]
fn csv_with_an_unknown_subject_names_the_line() {
    assert_csv_fails(
        |file| rewrite_line(file, 5, |l| l.replacen("s1,", "s9,", 1)),
        "r.csv:5: subject \"s9\" is not named in dataset.split",
    );
}

#[test]
fn csv_with_an_empty_value_names_line_and_column() {
    assert_csv_fails(
        |file| rewrite_line(file, 10, |l| l.rsplit_once(',').unwrap().0.to_string() + ","),
        "r.csv:10: column 9 is \"\", not a number",
    );
}

#[test]
fn csv_with_an_absurd_finite_sample_warns_naming_file_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::copy(fixture("csv-tiny/recordings.csv"), data.join("r.csv")).unwrap();
    // Line 10 is data row 9; 1e30 g passes every parse check.
    rewrite_line(&data.join("r.csv"), 10, |l| l.rsplit_once(',').unwrap().0.to_string() + ",1e30");
    pseudo_label(&fixture("csv-tiny.json"), &data, &dir.path().join("out")).assert().success().stderr(contains(
        "1 sample lies beyond any IMU's range (acceleration above 400 g, angular rate above 6,000 deg/s), \
         the first in r.csv, data row 9, channel right_wrist.acc.z: 9.80665e30",
    ));
}

#[test]
fn csv_with_a_sample_that_overflows_in_si_units_names_file_row_and_channel() {
    // 1e38 g is a finite f32 in the file, and infinity once multiplied by 9.80665.
    assert_csv_fails(
        |file| rewrite_line(file, 10, |l| l.rsplit_once(',').unwrap().0.to_string() + ",1e38"),
        "r.csv: data row 9, channel right_wrist.acc.z: inf once converted to SI units",
    );
}

#[test]
fn dataset_and_config_together_say_which_to_drop() {
    let output = pim().args(["pseudo-label", "--dataset", "dsads", "--config", "configs/dsads.json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("drop --config to run the built-in dsads config, or drop --dataset"), "{stderr}");
}

#[test]
fn unknown_dataset_lists_the_known_ones() {
    let output = pim().args(["pretrain", "--dataset", "dsad"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("dsads, pamap2, wear, mmfit, usc-had"), "{stderr}");
    // A usage error, not dressed as a file's error.
    assert!(stderr.starts_with("pim: error: `--dataset` is \"dsad\", not a dataset pim knows; use one of"), "{stderr}");
    let output = pim().args(["pseudo-label", "--out", "x"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("pim: error: `--dataset` and --config are both missing; give --dataset NAME"),
        "{stderr}"
    );
}

#[test]
fn a_preset_without_its_data_says_where_it_looked_and_how_to_get_it() {
    let work = tempfile::tempdir().unwrap();
    let output = pim()
        .current_dir(work.path())
        .env_remove("PIM_DATA")
        .args(["pseudo-label", "--dataset", "pamap2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("data/pamap2: does not hold the pamap2 data") && stderr.contains("archive.ics.uci.edu"),
        "{stderr}"
    );
    assert!(!work.path().join("runs").exists(), "nothing is written for a refused run");
}

#[test]
fn datasets_lists_every_preset_with_its_state() {
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join("wear/sbj_0.csv")).unwrap();
    let output = pim().env("PIM_DATA", work.path()).arg("datasets").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    for name in ["dsads", "pamap2", "wear", "mmfit", "usc-had"] {
        assert!(stdout.contains(&format!("\n{name}  ")), "{stdout}");
    }
    assert!(stdout.contains(&format!("{}/wear (present)", work.path().display())), "{stdout}");
    assert!(stdout.contains(&format!("{}/mmfit (absent)", work.path().display())), "{stdout}");
}

#[test]
fn finetune_from_a_method_not_yet_pretrained_says_which_command_makes_it() {
    let work = tempfile::tempdir().unwrap();
    let output = pim()
        .current_dir(work.path())
        .env("PIM_DATA", root().join("data").join("no-such-root"))
        .args(["finetune", "--dataset", "dsads", "--from", "masked", "--windows", "nowhere"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "runs/dsads/pretrain-masked: does not exist; run `pim pretrain --dataset dsads --method masked` first"
        ),
        "{stderr}"
    );
}

#[test]
fn csv_separated_by_semicolons_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(&fixture("csv-tiny"), &data);
    let file = data.join("recordings.csv");
    fs::write(&file, fs::read_to_string(&file).unwrap().replace(',', ";")).unwrap();
    pseudo_label(&fixture("csv-tiny.json"), &data, &dir.path().join("out"))
        .assert()
        .failure()
        .code(1)
        .stderr(contains("recordings.csv:1: has one column: its header is separated by ';', not commas"));
}

#[test]
fn csv_with_a_duplicated_column_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(&fixture("csv-tiny"), &data);
    let file = data.join("recordings.csv");
    let text = fs::read_to_string(&file).unwrap().replacen("time_s", "subject", 1);
    fs::write(&file, text).unwrap();
    let out = dir.path().join("out");
    pseudo_label(&fixture("csv-tiny.json"), &data, &out)
        .assert()
        .failure()
        .code(1)
        .stderr(contains("recordings.csv:1: names the column \"subject\" twice"));
    assert!(!out.exists(), "a failed stage left its --out folder");
}

#[test]
fn paths_that_are_not_utf8_are_paths_not_panics() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join(std::ffi::OsStr::from_bytes(b"out\xff"));
    let config = root().join("configs/dsads.json");
    pseudo_label(&config, &root().join("data/dsads-sample"), &odd).arg("-q").assert().success();
    assert_eq!(files_in(&odd), OUTPUTS);
    let missing = dir.path().join(std::ffi::OsStr::from_bytes(b"data\xff"));
    pseudo_label(&config, &missing, &dir.path().join("out"))
        .assert()
        .failure()
        .code(1)
        .stderr(contains("is not a folder; pass --data-dir"));
}

#[test]
fn a_sampling_rate_no_imu_has_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    for rate in ["1e300", "0", "-25"] {
        let text = fs::read_to_string(fixture("dsads-tiny.json")).unwrap();
        let config: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut config = config;
        config["dataset"]["sampling_rate_hz"] = serde_json::from_str(rate).unwrap();
        let path = dir.path().join("rate.json");
        fs::write(&path, config.to_string()).unwrap();
        pseudo_label(&path, &fixture("dsads-tiny"), &dir.path().join("out"))
            .assert()
            .failure()
            .code(1)
            .stderr(contains("dataset.sampling_rate_hz"))
            .stderr(contains("a positive number up to 100,000"));
    }
}

#[test]
fn bare_eval_names_both_ways_to_say_which_run() {
    pim().arg("eval").assert().failure().code(2).stderr(contains("<--run <RUN>|--dataset <DATASET>>"));
}
