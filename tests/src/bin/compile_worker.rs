//! The plugin compile worker for test servers; see `grc::plugins::compiler`.

fn main() -> std::process::ExitCode {
    grc::plugins::compiler::worker_main()
}
