//! `grc`: the GRC API server and its ops CLI.

use clap::Parser;
use grc::{cli, config::Config};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc: a request allocates many small, short-lived values
/// (headers, the caller, the decision), and glibc's arenas spent about a tenth of the server's
/// CPU on them under load (docs/benchmarks.md, issue 9).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if cli.is_compile_worker() {
        // Before any runtime threads or configuration: the worker caps its own address space.
        return grc::plugins::compiler::worker_main();
    }
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(serve(cli)),
        Err(e) => {
            eprintln!("grc: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(cli: cli::Cli) -> ExitCode {
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("grc: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    match cli::run(cli, config).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("grc: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr so that CLI commands can print JSON on stdout.
fn init_logging(config: &Config) {
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
