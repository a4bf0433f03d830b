//! `rsmrun`: run a program as a job of N ranks. See `rsmrun --help`.
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(rsm_launcher::cli::main());
}
