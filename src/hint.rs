//! Every follow-up command stateward prints (`Undo: stateward restore V`,
//! "release with", "if its holder is gone", resume hints, `digest repair`,
//! `restore --last-good` advice) is built here, so a copy-paste runs as
//! printed: the words of the command, shell-quoted, then the flags that named
//! the state, exactly as the user gave them.
//!
//! The command line is recorded once by the binary's edge ([`set_args`]);
//! the domain only asks for [`command`]. A leaf: it depends on nothing else
//! in the crate.

use std::sync::{Mutex, PoisonError};

/// Flags that name the state (or the AWS access to it) and take a value.
pub(crate) const WITH_VALUE: &[&str] = &[
    "--bucket",
    "--key",
    "--region",
    "--dynamodb-table",
    "--workspace",
    "--workspace-key-prefix",
    "--endpoint-url",
    "--env",
    "--backend-dir",
    "--backend-config",
    "--profile",
    "--role-arn",
];

/// Flags that name the state and take no value.
pub(crate) const SWITCHES: &[&str] = &["--use-lockfile"];

/// The targeting flags of this run, shell-quoted, in the order given.
static TARGETING: Mutex<String> = Mutex::new(String::new());

/// Records the command line of this run (without the program name): its
/// targeting flags are repeated in every printed command.
pub fn set_args(args: impl IntoIterator<Item = String>) {
    let flags = targeting_flags(args);
    *TARGETING.lock().unwrap_or_else(PoisonError::into_inner) = flags;
}

/// The targeting flags recorded by [`set_args`] (empty when none).
pub fn targeting() -> String {
    TARGETING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// `stateward WORDS... TARGETING`: the command to print, each word
/// shell-quoted, followed by this run's targeting flags.
pub fn command<S: AsRef<str>>(words: &[S]) -> String {
    command_with(words, &targeting())
}

/// [`command`] with the targeting flags given. Pure.
pub fn command_with<S: AsRef<str>>(words: &[S], targeting: &str) -> String {
    let mut out = String::from("stateward");
    for w in words {
        out.push(' ');
        out.push_str(&quote(w.as_ref()));
    }
    if !targeting.is_empty() {
        out.push(' ');
        out.push_str(targeting);
    }
    out
}

/// The targeting flags among a command line's arguments (without the
/// program name), in their order, shell-quoted where needed. Pure.
pub fn targeting_flags(args: impl IntoIterator<Item = String>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if SWITCHES.contains(&arg.as_str()) {
            out.push(arg);
        } else if WITH_VALUE.contains(&arg.as_str()) {
            if let Some(value) = args.next() {
                out.push(arg);
                out.push(quote(&value));
            }
        } else if let Some((flag, value)) = arg.split_once('=') {
            if WITH_VALUE.contains(&flag) {
                out.push(format!("{flag}={}", quote(value)));
            } else if SWITCHES.contains(&flag) {
                out.push(arg.clone());
            }
        }
    }
    out.join(" ")
}

/// `value` as one POSIX shell word (the `shlex` crate's quoting); a value
/// with a NUL byte, which no shell word can hold, is shown as `'?'`.
pub fn quote(value: &str) -> String {
    shlex::try_quote(value)
        .map(|q| q.into_owned())
        .unwrap_or_else(|_| "'?'".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(line: &[&str]) -> String {
        targeting_flags(line.iter().map(|s| s.to_string()))
    }

    #[test]
    fn keeps_only_the_flags_that_name_the_state() {
        let cases: &[(&[&str], &str)] = &[
            (&["restore", "--last-good", "--yes"], ""),
            (&["restore", "--env", "prod", "--yes"], "--env prod"),
            (
                &[
                    "--format", "json", "restore", "v1", "--bucket", "b", "--key",
                    "platform/terraform.tfstate", "--region", "eu-west-1", "--endpoint-url",
                    "http://127.0.0.1:4566", "--dynamodb-table", "locks", "--yes",
                ],
                "--bucket b --key platform/terraform.tfstate --region eu-west-1 --endpoint-url http://127.0.0.1:4566 --dynamodb-table locks",
            ),
            (
                &["restore", "--workspace=blue", "--use-lockfile", "--reason", "x y"],
                "--workspace=blue --use-lockfile",
            ),
            (
                &["lock", "status", "--profile", "acme", "--role-arn", "arn:aws:iam::1:role/r"],
                "--profile acme --role-arn arn:aws:iam::1:role/r",
            ),
            (&["restore", "--", "--bucket", "b"], ""),
            (&["restore", "--bucket"], ""),
        ];
        for (line, want) in cases {
            assert_eq!(flags(line), *want, "{line:?}");
        }
    }

    /// What the quoting produces is read back by a shell-word splitter as
    /// the very words given.
    #[test]
    fn quoted_words_split_back_to_themselves() {
        let line = flags(&[
            "restore",
            "--backend-dir",
            "infra/my stack",
            "--key",
            "env:/it's",
            "--bucket=a b",
            "--env",
            "$HOME;rm -rf",
        ]);
        let words = shlex::split(&line).unwrap_or_default();
        assert_eq!(
            words,
            [
                "--backend-dir",
                "infra/my stack",
                "--key",
                "env:/it's",
                "--bucket=a b",
                "--env",
                "$HOME;rm -rf"
            ]
        );
    }

    #[test]
    fn a_command_is_its_words_then_the_targeting() {
        assert_eq!(
            command_with(&["lock", "release", "abc"], "--env prod"),
            "stateward lock release abc --env prod"
        );
        assert_eq!(
            command_with(&["restore", "v 1"], ""),
            "stateward restore 'v 1'"
        );
        assert_eq!(quote("a\0b"), "'?'");
    }
}
