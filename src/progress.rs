//! How long stages report progress: bars for long loops and one line per epoch or notice.
//! The CLI draws them on stderr; tests and benchmarks use [`Silent`].

use indicatif::ProgressBar;

/// Progress reporting for a stage.
pub trait Progress {
    /// A bar for a phase called `name` (its length is set by the phase).
    fn bar(&self, name: &'static str) -> ProgressBar;
    /// One line of log (an epoch's figures, a notice).
    fn line(&self, text: &str);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn bar(&self, _: &'static str) -> ProgressBar {
        ProgressBar::hidden()
    }

    fn line(&self, _: &str) {}
}
