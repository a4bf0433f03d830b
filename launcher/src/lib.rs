//! `rsmrun`, the job launcher of rsm: command line, per-host proxies, the job's key-value
//! service, output handling and CPU binding. The binary (`src/main.rs`) only calls
//! [`cli::main`].
#![forbid(unsafe_code)]

/// `eprintln!` that never panics: rsmrun and its proxies must keep going (and clean up)
/// when their stderr is gone, e.g. after the terminal closed or rsmrun died.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr(), $($arg)*);
    }};
}

pub mod bind;
pub mod cleanup;
pub mod cli;
pub mod hosts;
pub mod info;
pub mod job;
pub mod kvs;
pub mod output;
pub mod proto;
pub mod proxy;
