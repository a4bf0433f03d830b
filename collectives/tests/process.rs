//! Process tests of the collectives: every test is an `rsmrun` job whose ranks run a driver
//! mode of this same binary (see `driver/`). Run with `cargo test -p rsm-collectives --test
//! process [-- FILTER...]`; a filter selects jobs whose name contains it.

#[path = "driver/mod.rs"]
mod driver;
#[path = "common/launch.rs"]
mod launch;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__rank") {
        std::process::exit(driver::main(&args[2..]));
    }
    launch::dispatch();
    let me = std::env::current_exe().expect("current_exe");
    let filters: Vec<String> = args[1..]
        .iter()
        .filter(|a| !a.starts_with('-'))
        .cloned()
        .collect();
    let p: usize = filters.first().and_then(|f| f.parse().ok()).unwrap_or(2);
    let map = filters.get(1).map(String::as_str) != Some("put");
    let rest: Vec<&str> = filters.iter().skip(2).map(String::as_str).collect();
    let mut dargs = vec!["__rank", "matrix"];
    dargs.extend(rest);
    let mut job = launch::Job::new(p, 600, me, &dargs, "m");
    if !map {
        job = job.env("RSM_LOOPBACK_MAP", "0");
    }
    let o = launch::run(&job);
    println!("{}", o.describe());
    println!("leftovers {:?}", o.leftovers);
}
