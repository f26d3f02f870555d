//! Progress bars on stderr (indicatif hides them when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

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
        // What the bar counts, so its rate reads "1,520 windows/s", not "1520.3417/s".
        let unit = match name {
            "reading" => "files",
            "features" => "recordings",
            "finetune" => "epochs",
            _ => "windows",
        };
        let style = ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {rate} eta {eta}")
            .expect("the template is valid")
            .with_key("rate", move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{} {unit}/s", rate(state.per_sec()));
            })
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

/// A rate for people: whole numbers from 10 up, one decimal below.
fn rate(per_second: f64) -> String {
    if per_second >= 10.0 { format!("{per_second:.0}") } else { format!("{per_second:.1}") }
}

#[cfg(test)]
mod tests {
    use super::rate;

    #[test]
    fn rates_read_as_numbers_people_use() {
        assert_eq!(rate(489.0866), "489");
        assert_eq!(rate(2.96), "3.0");
        assert_eq!(rate(0.0), "0.0");
    }
}
