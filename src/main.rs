//! The `onelayer` command: a thin wrapper over [`onelayer::cli`].

fn main() -> std::process::ExitCode {
    onelayer::cli::main()
}
