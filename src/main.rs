//! The `healthscore` binary: parse arguments, run the library, exit with
//! the code of SPEC §7 (0 ok, 1 retry, 2 fix the input, 64 usage).

use clap::Parser;

fn main() {
    let cli = match healthscore::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                _ => 64,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    std::process::exit(healthscore::cli::main_with(cli));
}
