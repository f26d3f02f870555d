//! Progress bars on stderr (indicatif hides them when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::Progress;

/// Makes bars that draw on stderr, or hidden ones when quiet.
pub struct StderrProgress {
    /// Draw nothing.
    pub quiet: bool,
}

impl Progress for StderrProgress {
    fn bar(&self, name: &'static str) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let style = ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .expect("the template is valid")
            .progress_chars("=> ");
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(style).with_prefix(name)
    }

    fn line(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }
}

/// Print a stage's notices to stderr, one line each; quiet, one line saying how many there
/// were and where they are kept.
pub fn print_notices(notices: &[String], quiet: bool) {
    match (quiet, notices.len()) {
        (_, 0) => {}
        (true, 1) => eprintln!("notice: {}", notices[0]),
        (true, n) => eprintln!("notice: {n} notices (run without -q to see them; the run folder keeps them)"),
        (false, _) => notices.iter().for_each(|notice| eprintln!("notice: {notice}")),
    }
}

/// Print `lines` to stdout, stopping quietly when the reader has gone (`pim grid --list | head`).
pub fn print_lines(lines: &[String]) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    for line in lines {
        if writeln!(stdout, "{line}").is_err() {
            return;
        }
    }
}
