//! The `gatehouse` command. Parses the command line and hands over to the
//! library, so tests drive the same code paths.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = gatehouse::cli::Cli::parse();
    match gatehouse::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output has gone (`gatehouse user list | head`):
        // what it wanted it got, so exit 0 without a word, as `head` users
        // expect (a process killed by SIGPIPE would say nothing either).
        Err(e) if gatehouse::is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            // Not `eprintln!`: it panics when stderr is closed too.
            let _ = writeln!(std::io::stderr(), "gatehouse: {e}");
            ExitCode::FAILURE
        }
    }
}
