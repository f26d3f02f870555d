//! Seeded, stratified k-shot draws: k labelled windows per class from the windows a caller
//! marks eligible (the training subjects'), never from any other.
//!
//! Each class shuffles its eligible windows (in window order) with its own ChaCha8 stream
//! of the seed, and keeps the first k. So a class's draw depends only on the seed and that
//! class's windows, and for one seed the k = 2 draw is contained in the k = 4 draw, which
//! keeps a table over shot counts comparing nested label sets.

use std::fmt;
use std::str::FromStr;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Labelled windows per class for fine-tuning; in JSON a number or `"all"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ShotsJson", into = "ShotsJson")]
pub enum Shots {
    /// At most this many per class.
    PerClass(usize),
    /// Every eligible labelled window.
    All,
}

/// How [`Shots`] looks in JSON.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ShotsJson {
    Count(usize),
    Word(String),
}

impl TryFrom<ShotsJson> for Shots {
    type Error = String;

    fn try_from(json: ShotsJson) -> Result<Self, Self::Error> {
        match json {
            ShotsJson::Count(k) => k.to_string().parse(),
            ShotsJson::Word(word) => word.parse(),
        }
    }
}

impl From<Shots> for ShotsJson {
    fn from(shots: Shots) -> Self {
        match shots {
            Shots::PerClass(k) => ShotsJson::Count(k),
            Shots::All => ShotsJson::Word("all".into()),
        }
    }
}

impl FromStr for Shots {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "all" {
            return Ok(Shots::All);
        }
        match text.parse::<usize>() {
            Ok(k) if k > 0 => Ok(Shots::PerClass(k)),
            _ => Err(format!("{text:?} is not a shot count: use a whole number >= 1, or `all`")),
        }
    }
}

impl fmt::Display for Shots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shots::PerClass(k) => write!(f, "{k}"),
            Shots::All => write!(f, "all"),
        }
    }
}

/// The windows drawn, and the classes that held fewer than asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KShotDraw {
    /// Indices of the drawn windows, ascending.
    pub windows: Vec<usize>,
    /// (class, windows available) for every class with fewer eligible windows than asked.
    pub shortfalls: Vec<(usize, usize)>,
}

/// Draw per `shots` from the windows with `eligible[i]` and a class `classes[i]`
/// (`None` for unlabelled windows), over `n_classes` classes, with `seed`.
pub fn draw_k_shot(
    classes: &[Option<usize>],
    eligible: &[bool],
    n_classes: usize,
    shots: Shots,
    seed: u64,
) -> KShotDraw {
    assert_eq!(classes.len(), eligible.len(), "one eligibility flag per window");
    let mut windows = Vec::new();
    let mut shortfalls = Vec::new();
    for class in 0..n_classes {
        let mut pool: Vec<usize> = (0..classes.len()).filter(|&i| eligible[i] && classes[i] == Some(class)).collect();
        let wanted = match shots {
            Shots::PerClass(k) => k,
            Shots::All => pool.len(),
        };
        if pool.len() < wanted {
            shortfalls.push((class, pool.len()));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(class as u64);
        pool.shuffle(&mut rng);
        windows.extend(pool.into_iter().take(wanted));
    }
    windows.sort_unstable();
    KShotDraw { windows, shortfalls }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3 classes x 10 windows, interleaved; windows 20.. belong to other subjects.
    fn dataset() -> (Vec<Option<usize>>, Vec<bool>) {
        let classes: Vec<Option<usize>> = (0..40).map(|i| Some(i % 3)).collect();
        let eligible = (0..40).map(|i| i < 20).collect();
        (classes, eligible)
    }

    #[test]
    fn draws_k_per_class_from_eligible_windows_only() {
        let (classes, eligible) = dataset();
        let draw = draw_k_shot(&classes, &eligible, 3, Shots::PerClass(4), 0);
        assert_eq!(draw.windows.len(), 12);
        assert!(draw.windows.iter().all(|&i| eligible[i]), "drew an ineligible window: {:?}", draw.windows);
        for class in 0..3 {
            assert_eq!(draw.windows.iter().filter(|&&i| classes[i] == Some(class)).count(), 4);
        }
        assert!(draw.shortfalls.is_empty());
    }

    #[test]
    fn same_seed_same_draw_other_seed_other_draw() {
        let (classes, eligible) = dataset();
        let a = draw_k_shot(&classes, &eligible, 3, Shots::PerClass(2), 7);
        assert_eq!(a, draw_k_shot(&classes, &eligible, 3, Shots::PerClass(2), 7));
        assert_ne!(a.windows, draw_k_shot(&classes, &eligible, 3, Shots::PerClass(2), 8).windows);
    }

    #[test]
    fn smaller_draws_are_nested_in_larger_ones() {
        let (classes, eligible) = dataset();
        let two = draw_k_shot(&classes, &eligible, 3, Shots::PerClass(2), 3).windows;
        let four = draw_k_shot(&classes, &eligible, 3, Shots::PerClass(4), 3).windows;
        assert!(two.iter().all(|i| four.contains(i)), "{two:?} not within {four:?}");
    }

    #[test]
    fn classes_with_too_few_windows_give_what_they_have() {
        let (classes, eligible) = dataset();
        // Class 0 has windows 0, 3, ..., 18 among the eligible: 7 of them.
        let draw = draw_k_shot(&classes, &eligible, 4, Shots::PerClass(8), 0);
        assert_eq!(draw.shortfalls, vec![(0, 7), (1, 7), (2, 6), (3, 0)]);
        assert_eq!(draw.windows, (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn all_takes_every_eligible_labelled_window() {
        let (mut classes, eligible) = dataset();
        classes[5] = None;
        let draw = draw_k_shot(&classes, &eligible, 3, Shots::All, 0);
        let want: Vec<usize> = (0..20).filter(|&i| i != 5).collect();
        assert_eq!(draw.windows, want);
    }

    #[test]
    fn shots_parse_from_the_command_line() {
        assert_eq!("4".parse::<Shots>(), Ok(Shots::PerClass(4)));
        assert_eq!("all".parse::<Shots>(), Ok(Shots::All));
        assert!("0".parse::<Shots>().is_err() && "four".parse::<Shots>().is_err());
        assert_eq!(Shots::PerClass(16).to_string(), "16");
    }

    #[test]
    fn shots_are_a_number_or_all_in_json() {
        assert_eq!(serde_json::to_string(&Shots::PerClass(4)).unwrap(), "4");
        assert_eq!(serde_json::to_string(&Shots::All).unwrap(), "\"all\"");
        assert_eq!(serde_json::from_str::<Shots>("8").unwrap(), Shots::PerClass(8));
        assert_eq!(serde_json::from_str::<Shots>("\"all\"").unwrap(), Shots::All);
        assert!(serde_json::from_str::<Shots>("0").is_err());
    }
}
