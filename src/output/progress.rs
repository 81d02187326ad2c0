//! Progress on stderr ("nothing waits in silence"): the one place that
//! configures indicatif.
//!
//! Progress is drawn only when [`enable`] was called with `true` — the edge
//! does so for text and markdown output when stderr is a terminal — and
//! then only on a terminal's stderr (indicatif's stderr target hides itself
//! otherwise). In JSON mode, off a terminal and in tests every [`Progress`]
//! is hidden: its methods do nothing, so callers never check.
//!
//! Lines written through [`super::Stderr`] while a bar is drawn go above it
//! ([`suspend`]), so messages and progress do not overwrite each other.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};

static ENABLED: AtomicBool = AtomicBool::new(false);
static MULTI: OnceLock<MultiProgress> = OnceLock::new();

/// Turns progress display on or off for this process (the CLI edge decides).
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether progress is drawn at all.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

fn multi() -> &'static MultiProgress {
    MULTI.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10)))
}

/// Runs `f` (a write to stderr) with every drawn bar cleared first and drawn
/// again after.
pub(crate) fn suspend<R>(f: impl FnOnce() -> R) -> R {
    match MULTI.get() {
        Some(m) if enabled() => m.suspend(f),
        _ => f(),
    }
}

/// One progress indicator on stderr, or nothing (see the module docs).
/// Cloning gives another handle to the same indicator (for callbacks).
#[derive(Clone, Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.bar.is_some() {
            "Progress(drawn)"
        } else {
            "Progress(hidden)"
        })
    }
}

const TICK: Duration = Duration::from_millis(100);

impl Progress {
    /// Shows nothing.
    pub fn hidden() -> Self {
        Progress { bar: None }
    }

    fn make(len: Option<u64>, template: &str, msg: Cow<'static, str>) -> Self {
        if !enabled() {
            return Progress::hidden();
        }
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .progress_chars("=> ");
        let bar = match len {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        }
        .with_style(style)
        .with_message(msg)
        .with_finish(ProgressFinish::AndClear);
        let bar = multi().add(bar);
        // Drawn at once, however soon it finishes: a short wait is still seen.
        bar.tick();
        bar.enable_steady_tick(TICK);
        Progress { bar: Some(bar) }
    }

    /// A spinner with a message and the time elapsed: `⠋ waiting for the lock (12s)`.
    pub fn spinner(msg: impl Into<Cow<'static, str>>) -> Self {
        Progress::make(None, "{spinner} {msg} ({elapsed})", msg.into())
    }

    /// A spinner with a message that says all itself (`⠋ waiting for lock
    /// held by X for 12s...`).
    pub fn status(msg: impl Into<Cow<'static, str>>) -> Self {
        Progress::make(None, "{spinner} {msg}", msg.into())
    }

    /// A count with no known end: `⠋ listing versions: 1200`.
    pub fn counter(msg: impl Into<Cow<'static, str>>) -> Self {
        Progress::make(None, "{spinner} {msg}: {human_pos}", msg.into())
    }

    /// `done/total` items with a bar, the rate and the time left.
    pub fn items(msg: impl Into<Cow<'static, str>>, total: u64) -> Self {
        Progress::make(
            Some(total),
            "{spinner} {msg} [{bar:30}] {human_pos}/{human_len} ({per_sec}, {eta} left)",
            msg.into(),
        )
    }

    /// `done/total` items with a bar and the bytes read so far (set with
    /// [`Progress::set_bytes`] through the message).
    pub fn items_bytes(msg: impl Into<Cow<'static, str>>, total: u64) -> Self {
        Progress::make(
            Some(total),
            "{spinner} {prefix} [{bar:30}] {human_pos}/{human_len} {msg}",
            Cow::Borrowed(""),
        )
        .with_prefix(msg.into())
    }

    fn with_prefix(self, prefix: Cow<'static, str>) -> Self {
        if let Some(b) = &self.bar {
            b.set_prefix(prefix);
        }
        self
    }

    /// Replaces the message.
    pub fn set_message(&self, msg: impl Into<Cow<'static, str>>) {
        if let Some(b) = &self.bar {
            b.set_message(msg);
        }
    }

    /// Shows `bytes` as the message, in human units (`12.3 MiB read`).
    pub fn set_bytes(&self, bytes: u64) {
        if let Some(b) = &self.bar {
            b.set_message(format!("{} read", indicatif::HumanBytes(bytes)));
        }
    }

    /// Adds `n` to the count.
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    /// Sets the count.
    pub fn set_position(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.set_position(n);
        }
    }

    /// Sets the total.
    pub fn set_length(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.set_length(n);
        }
    }

    /// Removes the indicator from the screen.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
            multi().remove(b);
        }
    }

    /// Whether anything is drawn (false in JSON mode, off a terminal, in tests).
    pub fn is_drawn(&self) -> bool {
        self.bar.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_unless_enabled() {
        // The library never enables progress itself; only the CLI edge does.
        assert!(!enabled());
        let p = Progress::spinner("waiting");
        assert!(!p.is_drawn());
        // Every method is a no-op on a hidden indicator.
        p.set_message("still waiting");
        p.inc(3);
        p.set_bytes(10);
        p.finish();
        assert!(!Progress::items("reading", 10).is_drawn());
        assert!(!Progress::counter("listing").is_drawn());
    }
}
