//! The rank side of the process tests: each mode runs inside one rsmrun job.

pub mod data;
pub mod matrix;
pub mod modes;

use rsm_collectives::Comm;

/// Runs the mode named by `args[0]`; returns the exit code.
pub fn main(args: &[String]) -> i32 {
    let mode = args.first().map(String::as_str).unwrap_or("");
    let rest: Vec<String> = args.iter().skip(1).cloned().collect();
    let comm = match Comm::world() {
        Ok(c) => c,
        Err(e) => {
            println!("FAIL: Comm::world: {e}");
            return 3;
        }
    };
    match mode {
        "matrix" => matrix::run(&comm, rest),
        "repro" => modes::repro(&comm),
        "death" => modes::death(comm, &rest),
        "args" => modes::bad_args(&comm),
        "mismatch" => modes::mismatch(&comm),
        "env" => modes::env_forcing(&comm),
        "split" => modes::split(&comm),
        "timeout" => modes::timeout(&comm),
        _ => {
            println!("FAIL: unknown driver mode {mode:?}");
            2
        }
    }
}
