//! The `eval` stage: load a fine-tuned run (its config, normaliser and weights), predict
//! the test subjects' labelled windows, and write `predictions.csv` and `results.json`
//! (accuracy, macro-F1, per-class and per-subject figures, confusion matrix, and the
//! config and seed that made the model) into the run folder.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::config::PimConfig;
use crate::data::Normaliser;
use crate::data::dataset_config::SplitRole;
use crate::error::{Error, Result};
use crate::metrics::{ClassScores, ConfusionMatrix};
use crate::progress::Progress;
use crate::run_folder::layout::{FinetuneFolder, Layout};
use crate::run_folder::load_json;
use crate::run_folder::{RunFolder, require_finished};
use crate::train::backend::Backend;
use crate::train::checkpoint::load_module;
use crate::train::finetune::ClassifierModel;
use crate::train::windows::{WindowSet, WindowSource};

/// One class's scores, named.
#[derive(Debug, Clone, Serialize)]
pub struct ClassResult {
    /// Class name.
    pub class: String,
    /// Its scores.
    #[serde(flatten)]
    pub scores: ClassScores,
}

/// One test subject's figures.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectResult {
    /// Subject id.
    pub subject: String,
    /// Windows scored.
    pub windows: usize,
    /// Accuracy on them.
    pub accuracy: f64,
    /// Macro-F1 on them.
    pub macro_f1: f64,
}

/// Everything `results.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct EvalResults {
    /// pim's version.
    pub pim_version: &'static str,
    /// Test windows scored.
    pub windows: usize,
    /// Accuracy over all test windows.
    pub accuracy: f64,
    /// Macro-F1 over the classes present in truth or predictions.
    pub macro_f1: f64,
    /// Per-class precision, recall, F1, support.
    pub per_class: Vec<ClassResult>,
    /// Per-subject accuracy and macro-F1.
    pub per_subject: Vec<SubjectResult>,
    /// `[true][predicted]` counts, classes in config order.
    pub confusion_matrix: Vec<Vec<u64>>,
    /// Class names, in index order.
    pub classes: Vec<String>,
    /// The seed that made the model.
    pub seed: u64,
    /// Backend used for the predictions.
    pub backend: Backend,
    /// The full config that made the model.
    pub config: PimConfig,
    /// Things the user should know.
    pub notices: Vec<String>,
}

/// Evaluate the fine-tuned model in `run` on the test subjects of the dataset in `data`.
pub fn evaluate(run: &Path, data: &WindowSource, backend: Backend, progress: &dyn Progress) -> Result<EvalResults> {
    let fix = "pass --run the --out folder of `pim finetune`";
    require_finished(run, "finetune", "pass --run the --out folder of a finished `pim finetune` (rerun it to finish)")?;
    let layout = FinetuneFolder::new(run);
    let config: PimConfig = load_json(&layout.config(), fix)?;
    let normaliser: Normaliser = load_json(&layout.normaliser(), fix)?;
    let mut folder = RunFolder::open(run)?;
    // Again under the lock: another pim may have started fine-tuning into it meanwhile.
    require_finished(run, "finetune", "pass --run the --out folder of a finished `pim finetune` (rerun it to finish)")?;
    let bar = progress.bar("reading");
    let mut set = WindowSet::load(&config, data, &[SplitRole::Test], &bar)?;
    bar.finish_and_clear();
    if normaliser.mean.len() != set.channels {
        return Err(Error::Artefact {
            path: layout.normaliser(),
            problem: format!("has {} channels, the data {}", normaliser.mean.len(), set.channels),
            fix: fix.into(),
        });
    }
    set.normalise(&normaliser, data.path())?;
    let device = backend.device(config.seed)?;
    let model = load_module(ClassifierModel::init(&config, set.channels, &device), &layout.model(), fix)?;

    let test = set.labelled_indices_of(SplitRole::Test);
    if test.is_empty() {
        return Err(Error::bad_dataset(
            data.path(),
            "holds no labelled windows of the test subjects",
            "check dataset.split.test names subjects present in the data",
        ));
    }
    let predicted = model.predict(&set, &test, &device);
    let truth: Vec<usize> = test.iter().map(|&i| set.classes[i].expect("labelled")).collect();
    let classes: Vec<String> = config.dataset.classes.iter().map(|c| c.name.clone()).collect();
    let confusion = ConfusionMatrix::new(classes.len(), &truth, &predicted);
    let mut notices = set.notices.clone();
    for (class, scores) in classes.iter().zip(confusion.per_class()) {
        if scores.support == 0 {
            notices.push(format!("class {class} has no windows among the test subjects: macro-F1 leaves it out"));
        }
    }

    let results = EvalResults {
        pim_version: env!("CARGO_PKG_VERSION"),
        windows: test.len(),
        accuracy: confusion.accuracy(),
        macro_f1: confusion.macro_f1(),
        per_class: classes
            .iter()
            .zip(confusion.per_class())
            .map(|(class, scores)| ClassResult { class: class.clone(), scores })
            .collect(),
        per_subject: per_subject(&set, &test, &truth, &predicted, classes.len()),
        confusion_matrix: confusion.counts.clone(),
        classes: classes.clone(),
        seed: config.seed,
        backend,
        config,
        notices,
    };

    write_predictions(&mut folder, &layout.predictions(), &set, &test, (&truth, &predicted), &classes)?;
    folder.stage_json(&layout.results(), &results)?;
    folder.commit()?;
    Ok(results)
}

/// Accuracy and macro-F1 of each test subject.
fn per_subject(
    set: &WindowSet,
    test: &[usize],
    truth: &[usize],
    predicted: &[usize],
    classes: usize,
) -> Vec<SubjectResult> {
    let mut by_subject: BTreeMap<&str, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (k, &i) in test.iter().enumerate() {
        let entry = by_subject.entry(set.subjects[i].as_str()).or_default();
        entry.0.push(truth[k]);
        entry.1.push(predicted[k]);
    }
    by_subject
        .into_iter()
        .map(|(subject, (t, p))| {
            let m = ConfusionMatrix::new(classes, &t, &p);
            SubjectResult {
                subject: subject.to_string(),
                windows: t.len(),
                accuracy: m.accuracy(),
                macro_f1: m.macro_f1(),
            }
        })
        .collect()
}

/// `predictions.csv`: each test window with its true and predicted class.
fn write_predictions(
    folder: &mut RunFolder,
    path: &Path,
    set: &WindowSet,
    test: &[usize],
    (truth, predicted): (&[usize], &[usize]),
    classes: &[String],
) -> Result<()> {
    folder.stage(path, |w| {
        let io = |e| Error::io("write", path, "check the disk has space", e);
        writeln!(w, "window,source,start,subject,true,predicted").map_err(io)?;
        for (k, &i) in test.iter().enumerate() {
            let (source, start) = &set.keys[i];
            let (row, subject) = (set.rows[i], &set.subjects[i]);
            writeln!(w, "{row},{source},{start},{subject},{},{}", classes[truth[k]], classes[predicted[k]])
                .map_err(io)?;
        }
        Ok(())
    })
}
