//! Process tests of the collectives. Every test is an `rsmrun` job (this binary acts as
//! rsmrun, see `common/launch.rs`) whose ranks run a mode of the driver in `driver/`:
//!
//! * `matrix-{map,put}-P` for P in 1, 2, 3, 4, 5, 7, 8 (oversubscribed on small machines):
//!   every collective × every algorithm × types × operators × sizes 0 … 4 MiB × roots ×
//!   in place or not, against the serial reference; `put` runs with `RSM_LOOPBACK_MAP=0`;
//! * `repro-*` (bit-identical float reductions), `death-*` (a rank SIGKILLs itself; the
//!   others must fail naming it within 10 s; nothing may stay in the shm namespace),
//!   `args-*`, `mismatch-*`, `env-*` (RSM_COLL_<OP> and RSM_COLL_VERBOSE), `bad-env`,
//!   `split-*`, `singleton` (no rsmrun).
//!
//! `cargo test -p rsm-collectives --test process [-- NAME...]` runs the jobs whose name
//! contains one of the NAMEs (all without). Each job has rsmrun's `--timeout` and a deadline
//! of its own after which its process group is killed.

#[path = "driver/mod.rs"]
mod driver;
#[path = "common/launch.rs"]
mod launch;

use std::process::{Command, Stdio};
use std::time::Instant;

use launch::{Job, Outcome};

type Check = fn(&Job, &Outcome) -> Result<(), String>;

fn lines_with<'a>(o: &'a Outcome, pat: &str) -> Vec<&'a str> {
    o.stdout.lines().filter(|l| l.contains(pat)).collect()
}

fn no_fail_lines(o: &Outcome) -> Result<(), String> {
    let f = lines_with(o, "FAIL");
    if f.is_empty() {
        Ok(())
    } else {
        Err(format!("{} FAIL lines, first: {}", f.len(), f[0]))
    }
}

fn clean(o: &Outcome) -> Result<(), String> {
    if o.killed {
        return Err("the job hung: killed at the test's deadline".into());
    }
    if !o.leftovers.is_empty() {
        return Err(format!("left in the shm namespace: {:?}", o.leftovers));
    }
    Ok(())
}

/// Exit 0, no FAIL line, `job.ranks` lines containing `done`.
fn all_ranks_say(job: &Job, o: &Outcome, done: &str) -> Result<(), String> {
    clean(o)?;
    no_fail_lines(o)?;
    if o.code != Some(0) {
        return Err(format!("exit code {:?}", o.code));
    }
    let n = lines_with(o, done).len();
    if n != job.ranks {
        return Err(format!("{n} of {} ranks said {done:?}", job.ranks));
    }
    Ok(())
}

fn check_matrix(job: &Job, o: &Outcome) -> Result<(), String> {
    all_ranks_say(job, o, " 0 failures here, 0 in the job")
}

fn check_repro(job: &Job, o: &Outcome) -> Result<(), String> {
    all_ranks_say(job, o, "repro done, 0 failures")
}

fn check_args(job: &Job, o: &Outcome) -> Result<(), String> {
    all_ranks_say(job, o, "ARGS_OK")
}

fn check_mismatch(job: &Job, o: &Outcome) -> Result<(), String> {
    all_ranks_say(job, o, "MISMATCH_OK")
}

fn check_timeout(job: &Job, o: &Outcome) -> Result<(), String> {
    all_ranks_say(job, o, "TIMEOUT_OK")
}

fn check_split(job: &Job, o: &Outcome) -> Result<(), String> {
    all_ranks_say(job, o, "split done, 0 failures")
}

fn check_env(job: &Job, o: &Outcome) -> Result<(), String> {
    all_ranks_say(job, o, "env done, 0 failures")?;
    // RSM_COLL_VERBOSE=1: one line per call, from comm rank 0 only.
    let v: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("rsm-coll: "))
        .collect();
    let n = job.ranks;
    // The driver checked the barrier's default against its own oversubscription and says it.
    let barrier = if lines_with(o, "barrier default flat").len() == n {
        "flat"
    } else {
        "dissemination"
    };
    let path = if job
        .env
        .iter()
        .any(|(k, v)| k == "RSM_LOOPBACK_MAP" && v == "0")
    {
        "put"
    } else {
        "map"
    };
    let want = [
        format!("allreduce bytes=800 path={path} -> ring (forced by RSM_COLL_ALLREDUCE)"),
        format!("bcast bytes=1000 path={path} -> knomial (forced by RSM_COLL_BCAST)"),
        format!(
            "allreduce bytes=16 path={path} -> oneshot (forced ring cannot run a non-commutative operator; default)"
        ),
        format!("allreduce bytes=800 path={path} -> twoshot (forced by RSM_COLL_ALLREDUCE)"),
        format!("allreduce bytes=800 path={path} -> ring (forced by RSM_COLL_ALLREDUCE)"),
        format!("barrier bytes=0 path={path} -> {barrier} (default)"),
    ];
    if v.len() != want.len() {
        return Err(format!(
            "{} verbose lines, expected {}:\n{}",
            v.len(),
            want.len(),
            v.join("\n")
        ));
    }
    for (i, (line, w)) in v.iter().zip(&want).enumerate() {
        let prefix = format!("rsm-coll: rank 0/{n} comm ");
        let seq = format!(" seq {}: ", i + 1);
        if !line.starts_with(&prefix) || !line.contains(&seq) || !line.ends_with(w.as_str()) {
            return Err(format!("verbose line {i}: {line:?}, expected ...{seq}{w}"));
        }
    }
    Ok(())
}

fn check_bad_env(_job: &Job, o: &Outcome) -> Result<(), String> {
    clean(o)?;
    if o.code != Some(3) {
        return Err(format!("exit code {:?}, expected 3", o.code));
    }
    let l = lines_with(o, "RSM_COLL_ALLREDUCE=\"bruck\" is invalid");
    if l.is_empty() {
        return Err("no rank named the bad variable".into());
    }
    Ok(())
}

fn check_death(job: &Job, o: &Outcome) -> Result<(), String> {
    clean(o)?;
    no_fail_lines(o)?;
    let victim: usize = job.args[2].parse().unwrap();
    if o.code == Some(0) {
        return Err("rsmrun exited 0 although a rank was killed".into());
    }
    let death: Vec<u64> = lines_with(o, "DEATH_AT")
        .iter()
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect();
    let [death] = death[..] else {
        return Err(format!("{} DEATH_AT lines", death.len()));
    };
    let errs = lines_with(o, "ERROR_AT");
    if errs.len() != job.ranks - 1 {
        return Err(format!(
            "{} of {} survivors reported",
            errs.len(),
            job.ranks - 1
        ));
    }
    let mut worst = 0u64;
    for l in errs {
        let w: Vec<&str> = l.split_whitespace().collect();
        let at: u64 = w[1].parse().map_err(|_| format!("bad line {l}"))?;
        if w.get(5) != Some(&victim.to_string().as_str()) {
            return Err(format!("wrong culprit: {l}"));
        }
        if !l.contains("Some(RankDied)") {
            return Err(format!("not reported as a dead rank: {l}"));
        }
        worst = worst.max(at.saturating_sub(death));
    }
    if worst > 10_000_000_000 {
        return Err(format!("a survivor took {:.2} s", worst as f64 / 1e9));
    }
    println!(
        "    slowest survivor noticed after {:.2} s",
        worst as f64 / 1e9
    );
    Ok(())
}

struct T {
    name: String,
    job: Job,
    check: Check,
}

fn jobs(me: &std::path::Path) -> Vec<T> {
    let mut v = Vec::new();
    let mut add =
        |name: String, ranks: usize, timeout: u64, args: &[&str], put: bool, check: Check| {
            let mut a = vec!["__rank"];
            a.extend_from_slice(args);
            let mut job = Job::new(ranks, timeout, me.to_path_buf(), &a, &name);
            if put {
                job = job.env("RSM_LOOPBACK_MAP", "0");
            }
            v.push(T { name, job, check });
        };
    for put in [false, true] {
        let path = if put { "put" } else { "map" };
        for p in [1, 2, 3, 4, 5, 7, 8] {
            add(
                format!("matrix-{path}-{p}"),
                p,
                300,
                &["matrix"],
                put,
                check_matrix,
            );
        }
        add(
            format!("repro-{path}-5"),
            5,
            120,
            &["repro"],
            put,
            check_repro,
        );
        add(
            format!("death-mid-{path}-4"),
            4,
            120,
            &["death", "2", "mid"],
            put,
            check_death,
        );
        // Two ranks: the barrier there waits on sequence words, not messages.
        add(
            format!("death-mid-{path}-2"),
            2,
            120,
            &["death", "1", "mid"],
            put,
            check_death,
        );
        add(
            format!("death-sleep-{path}-4"),
            4,
            120,
            &["death", "1", "sleep"],
            put,
            check_death,
        );
        add(format!("args-{path}-3"), 3, 60, &["args"], put, check_args);
        add(
            format!("mismatch-{path}-3"),
            3,
            60,
            &["mismatch"],
            put,
            check_mismatch,
        );
        add(
            format!("split-{path}-5"),
            5,
            60,
            &["split"],
            put,
            check_split,
        );
        add(format!("env-{path}-4"), 4, 60, &["env"], put, check_env);
        for p in [2, 3] {
            add(
                format!("timeout-{path}-{p}"),
                p,
                60,
                &["timeout"],
                put,
                check_timeout,
            );
        }
    }
    add("bad-env-2".into(), 2, 60, &["matrix"], false, check_bad_env);
    for t in &mut v {
        if t.name.starts_with("death") {
            t.job = t.job.clone().rsmrun_arg("--disable-auto-cleanup");
        }
        if t.name.starts_with("env") {
            t.job = t
                .job
                .clone()
                .env("RSM_COLL_ALLREDUCE", "ring")
                .env("RSM_COLL_BCAST", "knomial")
                .env("RSM_COLL_VERBOSE", "1");
        }
        if t.name.starts_with("timeout") {
            t.job = t.job.clone().env("RSM_COLL_TIMEOUT_S", "2");
        }
        if t.name.starts_with("bad-env") {
            t.job = t.job.clone().env("RSM_COLL_ALLREDUCE", "bruck");
        }
    }
    v
}

/// A rank without rsmrun is a singleton communicator.
fn singleton(me: &std::path::Path) -> Result<(), String> {
    let ns = launch::namespace("single");
    let mut c = Command::new(me);
    c.args(["__rank", "split"])
        .env("RSM_SHM_NAMESPACE", &ns)
        .stdin(Stdio::null());
    for k in [
        "RSM_RANK",
        "RSM_SIZE",
        "RSM_KVS_ADDR",
        "RSM_JOB_SECRET",
        launch::ROLE,
    ] {
        c.env_remove(k);
    }
    let out = c.output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !stdout.contains("rank 0: split done, 0 failures") {
        return Err(format!(
            "{:?}\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let left = launch::shm_names(&ns);
    if !left.is_empty() {
        return Err(format!("left in the shm namespace: {left:?}"));
    }
    Ok(())
}

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
    let wanted =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let start = Instant::now();
    let mut failed = Vec::new();
    let mut ran = 0;
    if wanted("singleton") {
        ran += 1;
        match singleton(&me) {
            Ok(()) => println!("test singleton ... ok"),
            Err(e) => {
                println!("test singleton ... FAILED\n{e}");
                failed.push("singleton".to_string());
            }
        }
    }
    for t in jobs(&me) {
        if !wanted(&t.name) {
            continue;
        }
        ran += 1;
        let o = launch::run(&t.job);
        match (t.check)(&t.job, &o) {
            Ok(()) => {
                println!("test {} ... ok ({:.1} s)", t.name, o.elapsed.as_secs_f64());
                if let Some(l) = o.stdout.lines().find(|l| l.starts_with("rank 0/")) {
                    println!("    {l}");
                }
            }
            Err(e) => {
                println!("test {} ... FAILED: {e}\n{}", t.name, o.describe());
                failed.push(t.name.clone());
            }
        }
    }
    println!(
        "\nprocess tests: {} run, {} failed in {:.1} s{}",
        ran,
        failed.len(),
        start.elapsed().as_secs_f64(),
        if failed.is_empty() {
            String::new()
        } else {
            format!(": {}", failed.join(", "))
        }
    );
    std::process::exit(i32::from(!failed.is_empty()));
}
