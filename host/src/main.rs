//! `grc`: the GRC API server and its ops CLI.

use clap::Parser;
use grc::{cli, config::Config};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
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
