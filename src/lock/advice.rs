//! The flags that name a state, repeated in the commands advice shows
//! (`stateward digest repair --env prod`), exactly as the user gave them.

/// Flags that name the state and take a value.
const WITH_VALUE: &[&str] = &[
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
];

/// Flags that name the state and take no value.
const SWITCHES: &[&str] = &["--use-lockfile"];

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
                out.push(shell_quote(&value));
            }
        } else if let Some((flag, value)) = arg.split_once('=') {
            if WITH_VALUE.contains(&flag) {
                out.push(format!("{flag}={}", shell_quote(value)));
            }
        }
    }
    out.join(" ")
}

/// `value` as a POSIX shell word: unchanged when it is plain, else in single quotes.
pub fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@%+=,".contains(&b));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
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
                &["restore", "--backend-dir", "infra/my stack", "--key", "env:/it's"],
                "--backend-dir 'infra/my stack' --key 'env:/it'\\''s'",
            ),
            (&["restore", "--", "--bucket", "b"], ""),
            (&["restore", "--bucket"], ""),
        ];
        for (line, want) in cases {
            assert_eq!(flags(line), *want, "{line:?}");
        }
    }
}
