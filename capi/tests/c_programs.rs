//! Builds every `capi/tests/c/*.c` with the system C compiler against `capi/include` and runs
//! it as a process with a time limit.
//!
//! A program's `rsm-test:` comment line selects how it is built: with `link`, it is linked
//! (`-lrsm`) against the `librsm.so.2` of this build, staged in `target/<profile>/capi/lib`,
//! and compiled with `-DRSM_TEST_LINK`; `timeout=<seconds>` replaces the 30 s default. Each
//! run gets its own `RSM_SHM_NAMESPACE` and must leave no `rsm.<namespace>.*` name in
//! `/dev/shm`.
//!
//! `RSM_CAPI_C_TESTS=name1,name2` restricts the run to those programs (file stems).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;

#[test]
fn c_test_programs_pass() {
    let sources = c_test_sources();
    assert!(!sources.is_empty(), "no C test programs in capi/tests/c");
    let only: Option<BTreeSet<String>> = std::env::var("RSM_CAPI_C_TESTS")
        .ok()
        .map(|list| list.split(',').map(|s| s.trim().to_owned()).collect());

    let out_dir = scratch_dir("c-programs");
    let mut failures = Vec::new();
    let mut ran = 0;
    for source in &sources {
        let stem = source
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if only.as_ref().is_some_and(|only| !only.contains(&stem)) {
            continue;
        }
        ran += 1;
        match build_and_run_c_test(source, &out_dir) {
            Ok(output) => eprintln!(
                "ok: {stem} ({:?}): {}",
                output.elapsed,
                output.stdout.trim_end()
            ),
            Err(report) => failures.push(report),
        }
    }
    assert!(ran > 0, "RSM_CAPI_C_TESTS selected none of {sources:?}");
    assert!(
        failures.is_empty(),
        "{} of {ran} C test programs failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The layout test's `RSM_TEST_LINK` part (pointer assignments and `dlvsym` lookups of all 48
/// functions) must already compile: only linking waits for the function bodies.
#[test]
fn layout_link_mode_compiles() {
    let out_dir = scratch_dir("layout-link-mode");
    let source = manifest_dir().join("tests/c/layout.c");
    let mut compile = cc([
        "-std=c11",
        "-pedantic-errors",
        "-DRSM_TEST_LINK",
        "-c",
        "-o",
    ]);
    compile.arg(out_dir.join("layout.o")).arg(&source);
    run_ok(&mut compile, TOOL_TIMEOUT);
}

#[test]
fn harness_reports_failure_output_and_kills_at_the_time_limit() {
    let dir = scratch_dir("harness-self-test");

    // A failing program: its exit status and output reach the report.
    let failing = dir.join("failing.c");
    std::fs::write(
        &failing,
        "#include <stdio.h>\nint main(void) { puts(\"visible output\"); return 3; }\n",
    )
    .expect("write failing.c");
    let report = build_and_run_c_test(&failing, &dir).expect_err("exit status 3 must fail");
    assert!(report.contains("exit status 3"), "{report}");
    assert!(report.contains("visible output"), "{report}");

    // A program that forks and hangs is killed with its child at its time limit.
    let hanging = dir.join("hanging.c");
    std::fs::write(
        &hanging,
        "/* rsm-test: timeout=1 */\n#include <unistd.h>\n\
         int main(void) { fork(); for (;;) pause(); }\n",
    )
    .expect("write hanging.c");
    let report = build_and_run_c_test(&hanging, &dir).expect_err("a hang must fail");
    assert!(
        report.contains("killed after the time limit of 1s"),
        "{report}"
    );

    // A compile error is reported with the compiler's message.
    let broken = dir.join("broken.c");
    std::fs::write(&broken, "int main(void) { return undeclared; }\n").expect("write broken.c");
    let report = build_and_run_c_test(&broken, &dir).expect_err("must not compile");
    assert!(report.contains("compilation failed"), "{report}");
    assert!(report.contains("undeclared"), "{report}");
}

#[test]
fn directives_are_parsed_strictly() {
    let d = parse_directives("/* rsm-test: link timeout=60 */").expect("valid");
    assert_eq!(
        d,
        Directives {
            link: true,
            timeout: Duration::from_secs(60)
        }
    );
    let d = parse_directives("int main(void) { return 0; }").expect("valid");
    assert_eq!(
        d,
        Directives {
            link: false,
            timeout: C_TEST_TIMEOUT
        }
    );
    assert!(parse_directives("/* rsm-test: lnik */").is_err());
    assert!(parse_directives("/* rsm-test: timeout=0 */").is_err());
    assert!(parse_directives("/* rsm-test: timeout=x */").is_err());
    assert!(parse_directives("/* rsm-test: link */\n/* rsm-test: link */").is_err());
}

/// Every exported function is called somewhere in the C tests (`capi/tests/c/*.c` and their
/// helper header), so each one's success path runs against the built library.
#[test]
fn every_exported_function_is_called_by_a_c_test() {
    let dir = manifest_dir().join("tests").join("c");
    let mut text = String::new();
    for entry in std::fs::read_dir(&dir).expect("list tests/c") {
        let path = entry.expect("entry").path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("c") | Some("h")
        ) && path.file_stem().and_then(|s| s.to_str()) != Some("layout")
        {
            text.push_str(&strip_c_comments(
                &std::fs::read_to_string(&path).expect("read C test"),
            ));
        }
    }
    let mut missing = Vec::new();
    for list in ["exports.txt", "exports_ext.txt"] {
        let names = std::fs::read_to_string(manifest_dir().join(list)).expect(list);
        for name in names.lines().filter(|l| !l.is_empty()) {
            if !text.contains(&format!("{name}(")) {
                missing.push(name.to_owned());
            }
        }
    }
    assert!(missing.is_empty(), "never called by a C test: {missing:?}");
}
