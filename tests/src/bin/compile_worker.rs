//! The plugin compile worker for test servers; see `grc::plugins::compiler`. It uses the same
//! allocator as the `grc` binary, so the memory-limit tests see what production's worker does.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    grc::plugins::compiler::worker_main()
}
