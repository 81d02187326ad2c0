fn main() -> std::process::ExitCode {
    stateward::cli::main()
}
