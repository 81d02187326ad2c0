//! Ctrl-C, in one place, for the whole run.
//!
//! [`install`] takes over SIGINT once at start. Then:
//! - a press while some code holds a [`Shield`] (it holds a lock, it has
//!   writes in flight) goes to that code, which listens with [`pressed`],
//!   cancels cleanly (releases what it holds, says what was done) and
//!   returns [`crate::error::Error::Interrupted`];
//! - a press while nothing is shielded ends the command at once, through
//!   [`unclaimed`], which the binary's edge races against the command;
//! - a second press exits the process at once (130), saying what each
//!   active shield may have left behind (a lock and how to release it),
//!   unless a command handles repeated presses itself ([`hands_off`]).
//!
//! Without [`install`] (the library used in-process, unit tests),
//! [`pressed`] waits for SIGINT itself, as `tokio::signal::ctrl_c` does.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use tokio::sync::watch;

/// How long work already sent is awaited after Ctrl-C before what it left
/// is judged (a lock write's outcome, a bulk undelete's removals): AWS
/// applies a request it received, so an unanswered request may yet land.
pub const IN_FLIGHT_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

use crate::output::Stderr;

struct Channels {
    /// Every press, counted.
    all: watch::Sender<usize>,
    /// Presses that arrived while nothing was shielded.
    unclaimed: watch::Sender<usize>,
}

static CHANNELS: OnceLock<Channels> = OnceLock::new();
static PRESSES: AtomicUsize = AtomicUsize::new(0);
static HANDS_OFF: AtomicBool = AtomicBool::new(false);
static AT_PROMPT: AtomicBool = AtomicBool::new(false);
static NEXT_SHIELD: AtomicU64 = AtomicU64::new(0);
/// The active shields: id and what is left behind if the process exits now.
static SHIELDS: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());

/// Takes over Ctrl-C for the rest of the process (needs a Tokio runtime).
/// Calling it again does nothing.
pub fn install() {
    let mut first = false;
    CHANNELS.get_or_init(|| {
        first = true;
        Channels {
            all: watch::channel(0).0,
            unclaimed: watch::channel(0).0,
        }
    });
    if !first {
        return;
    }
    tokio::spawn(async {
        while tokio::signal::ctrl_c().await.is_ok() {
            on_press();
        }
    });
}

fn on_press() {
    let Some(ch) = CHANNELS.get() else { return };
    let n = PRESSES.fetch_add(1, Ordering::SeqCst) + 1;
    let left: Vec<String> = SHIELDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(_, s)| s.clone())
        .filter(|s| !s.is_empty())
        .collect();
    let shielded = !SHIELDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_empty();
    // A confirmation prompt blocks its thread on the terminal: answer it.
    if AT_PROMPT.load(Ordering::SeqCst) && !shielded {
        Stderr::default().line("\ncancelled (Ctrl-C): nothing was changed");
        std::process::exit(i32::from(crate::exit::INTERRUPTED));
    }
    if n >= 2 && !HANDS_OFF.load(Ordering::SeqCst) {
        let err = Stderr::default();
        err.line("stateward: interrupted again (Ctrl-C): exiting now");
        for l in left {
            err.line(format_args!("stateward: {l}"));
        }
        std::process::exit(i32::from(crate::exit::INTERRUPTED));
    }
    ch.all.send_replace(n);
    if !shielded {
        ch.unclaimed.send_modify(|c| *c += 1);
    }
}

/// Whether [`install`] took over Ctrl-C.
pub fn installed() -> bool {
    CHANNELS.get().is_some()
}

/// Resolves at the next Ctrl-C after this call.
pub async fn pressed() {
    match CHANNELS.get() {
        Some(ch) => {
            let mut rx = ch.all.subscribe();
            rx.borrow_and_update();
            let _ = rx.changed().await;
        }
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Resolves at the next Ctrl-C that arrives while nothing is shielded;
/// never without [`install`].
pub async fn unclaimed() {
    match CHANNELS.get() {
        Some(ch) => {
            let mut rx = ch.unclaimed.subscribe();
            rx.borrow_and_update();
            let _ = rx.changed().await;
        }
        None => std::future::pending().await,
    }
}

/// A command that handles repeated presses itself (it lets a child process
/// finish on the first and kills it on the second) turns the exit on the
/// second press off.
pub fn hands_off(on: bool) {
    HANDS_OFF.store(on, Ordering::SeqCst);
}

/// While alive, a confirmation prompt is waiting on the terminal: Ctrl-C
/// (with nothing shielded) cancels it at once, exit 130, nothing changed.
#[must_use = "the prompt lasts as long as the value"]
pub struct Prompt(());

/// Marks a confirmation prompt as waiting (see [`Prompt`]).
pub fn prompt() -> Prompt {
    AT_PROMPT.store(true, Ordering::SeqCst);
    Prompt(())
}

impl Drop for Prompt {
    fn drop(&mut self) {
        AT_PROMPT.store(false, Ordering::SeqCst);
    }
}

/// While alive, Ctrl-C goes to the code holding it (see the module docs).
#[must_use = "the shield lasts as long as the value"]
pub struct Shield(u64);

/// Shields the current work; `left_behind` says what stays if the process
/// exits before the shield is dropped (e.g. the lock and how to release it),
/// printed on a second Ctrl-C.
pub fn shield(left_behind: impl Into<String>) -> Shield {
    let id = NEXT_SHIELD.fetch_add(1, Ordering::SeqCst);
    SHIELDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((id, left_behind.into()));
    Shield(id)
}

/// What the active shields would leave behind (for tests).
#[cfg(test)]
pub(crate) fn left_behind() -> Vec<String> {
    SHIELDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(_, s)| s.clone())
        .collect()
}

impl Drop for Shield {
    fn drop(&mut self) {
        SHIELDS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(id, _)| *id != self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shields_come_and_go() {
        let count = || SHIELDS.lock().map(|s| s.len()).unwrap_or(0);
        let before = count();
        let a = shield("lock A");
        let b = shield("");
        assert_eq!(count(), before + 2);
        drop(a);
        assert_eq!(count(), before + 1);
        drop(b);
        assert_eq!(count(), before);
    }
}
