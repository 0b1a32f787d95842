//! The `gatehouse` command. Parses the command line and hands over to the
//! library, so tests drive the same code paths.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = gatehouse::cli::Cli::parse();
    match gatehouse::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            ExitCode::FAILURE
        }
    }
}
