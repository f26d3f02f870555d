//! Sliding windows over recordings. Windows never cross a recording's end (so never a
//! change of subject, activity or file); a recording shorter than one window gives none.

use super::dataset_config::WindowConfig;
use super::recording::Recording;

/// One window: `length` samples of a recording from `offset` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Index of the recording in the slice the windows were cut from.
    pub recording: usize,
    /// First sample, counted from the recording's start.
    pub offset: usize,
}

/// Start offsets of the windows of a recording of `len` samples.
pub fn window_offsets(len: usize, window: WindowConfig) -> impl Iterator<Item = usize> {
    let count = if len >= window.length { (len - window.length) / window.hop + 1 } else { 0 };
    (0..count).map(move |i| i * window.hop)
}

/// The windows of every recording, in recording order; also the number of recordings
/// too short to hold one window.
pub fn cut_windows(recordings: &[Recording], window: WindowConfig) -> (Vec<Window>, usize) {
    let mut windows = Vec::new();
    let mut too_short = 0;
    for (index, recording) in recordings.iter().enumerate() {
        let before = windows.len();
        windows.extend(window_offsets(recording.len(), window).map(|offset| Window { recording: index, offset }));
        too_short += usize::from(windows.len() == before);
    }
    (windows, too_short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_window_per_segment_when_length_equals_hop_equals_len() {
        let offsets: Vec<_> = window_offsets(125, WindowConfig { length: 125, hop: 125 }).collect();
        assert_eq!(offsets, vec![0]);
    }

    #[test]
    fn overlapping_windows_stop_before_the_end() {
        // 10 samples, windows of 4 every 3: starts 0, 3, 6 (6 + 4 = 10 fits), 9 would not.
        let offsets: Vec<_> = window_offsets(10, WindowConfig { length: 4, hop: 3 }).collect();
        assert_eq!(offsets, vec![0, 3, 6]);
    }

    #[test]
    fn recording_shorter_than_a_window_gives_none() {
        assert_eq!(window_offsets(3, WindowConfig { length: 4, hop: 1 }).count(), 0);
    }
}
