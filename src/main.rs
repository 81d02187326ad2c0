#![deny(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

fn main() -> std::process::ExitCode {
    stateward::cli::main()
}
