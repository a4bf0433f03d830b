//! Link-time identity of `librsm.so.2`: soname, symbol-version nodes, exported symbols.
//!
//! * The real library of this build: soname `librsm.so.2`, version nodes `SUNWprivate_1.1`
//!   and `RSMEXT_1.0` defined, and nothing exported except the functions of `exports.txt`
//!   (in `SUNWprivate_1.1`) and `exports_ext.txt` (in `RSMEXT_1.0`).
//! * The mechanism itself, end to end, on a probe crate built from the very same `build.rs`,
//!   `src/abi.rs` and `src/types.rs`: entry points in several modules get their version,
//!   nothing else is exported, a C program links it with `-lrsm` from a staging directory,
//!   `dlvsym` finds each function in its node only, and a panic comes back as
//!   `RSMERR_INTERNAL_ERROR` instead of aborting the C program.
//! * Staging (`target/<profile>/capi/lib`) and `capi/install.sh`.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// `nm -D --defined-only`: the names (with `@@version`) of all defined dynamic symbols.
fn defined_dynamic_symbols(library: &Path) -> BTreeSet<String> {
    let out = run_ok(
        Command::new("nm")
            .args(["-D", "--defined-only"])
            .arg(library),
        TOOL_TIMEOUT,
    );
    out.stdout
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2).map(str::to_owned))
        .collect()
}

/// `readelf -d`: the DT_SONAME.
fn soname(library: &Path) -> Option<String> {
    let out = run_ok(Command::new("readelf").arg("-d").arg(library), TOOL_TIMEOUT);
    out.stdout
        .lines()
        .find(|l| l.contains("(SONAME)"))
        .and_then(|l| l.split('[').nth(1))
        .map(|s| s.trim_end_matches(']').to_owned())
}

/// `readelf -V`: the names of the version definitions (`.gnu.version_d`).
fn version_definitions(library: &Path) -> BTreeSet<String> {
    let out = run_ok(Command::new("readelf").arg("-V").arg(library), TOOL_TIMEOUT);
    let mut in_defs = false;
    let mut names = BTreeSet::new();
    for line in out.stdout.lines() {
        if line.starts_with("Version definition section") {
            in_defs = true;
        } else if line.starts_with("Version") {
            in_defs = false;
        } else if in_defs && let Some(name) = line.split("Name: ").nth(1) {
            names.insert(name.trim().to_owned());
        }
    }
    names
}

fn export_list(file: &str, node: &str) -> BTreeSet<String> {
    let path = manifest_dir().join(file);
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .map(|name| format!("{name}@@{node}"))
        .collect()
}

/// Every symbol librsm.so.2 may export, with its version: 42 + 6.
fn expected_exports() -> BTreeSet<String> {
    let mut all = export_list("exports.txt", "SUNWprivate_1.1");
    all.extend(export_list("exports_ext.txt", "RSMEXT_1.0"));
    assert_eq!(all.len(), 48);
    all
}

#[test]
fn librsm_has_the_soname_and_both_version_nodes() {
    let lib = built_library();
    assert_eq!(soname(&lib).as_deref(), Some("librsm.so.2"));
    let defs = version_definitions(&lib);
    for node in ["librsm.so.2", "SUNWprivate_1.1", "RSMEXT_1.0"] {
        assert!(
            defs.contains(node),
            "version definition {node} missing: {defs:?}"
        );
    }
}

#[test]
fn librsm_exports_nothing_but_versioned_rsm_functions() {
    let exported = defined_dynamic_symbols(&built_library());
    let expected = expected_exports();
    let unexpected: Vec<_> = exported.difference(&expected).collect();
    assert!(
        unexpected.is_empty(),
        "librsm.so exports symbols outside exports.txt/exports_ext.txt or without their \
         version node (define entry points with rsm::entry_points!): {unexpected:?}"
    );
}

#[test]
fn librsm_exports_exactly_the_expected_symbols() {
    let exported = defined_dynamic_symbols(&built_library());
    let expected = expected_exports();
    let missing: Vec<_> = expected.difference(&exported).collect();
    let unexpected: Vec<_> = exported.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing: {missing:?}\nunexpected: {unexpected:?}"
    );
}

#[test]
fn staging_provides_the_soname_file_and_the_development_link() {
    let dir = staged_lib_dir();
    let file = dir.join("librsm.so.2");
    let meta = fs::symlink_metadata(&file).expect("librsm.so.2 staged");
    assert!(
        meta.file_type().is_file(),
        "librsm.so.2 must be a regular file"
    );
    assert_eq!(
        meta.len(),
        fs::metadata(built_library()).expect("built library").len()
    );
    let link = dir.join("librsm.so");
    assert!(
        fs::symlink_metadata(&link)
            .expect("librsm.so staged")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read_link(&link).expect("readlink"),
        PathBuf::from("librsm.so.2")
    );
    assert_eq!(soname(&file).as_deref(), Some("librsm.so.2"));
}

fn cargo_program() -> String {
    std::env::var("CARGO")
        .ok()
        .or_else(|| option_env!("CARGO").map(str::to_owned))
        .unwrap_or_else(|| "cargo".to_owned())
}

/// Writes the probe crate into `dir`; its library is built by capi's own build.rs and uses
/// capi's own abi.rs and types.rs.
fn write_probe_crate(dir: &Path) {
    let capi = manifest_dir();
    fs::create_dir_all(dir.join("src")).expect("create probe crate");
    fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"rsm-symver-probe\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
         publish = false\nbuild = \"build.rs\"\n\n\
         [lib]\nname = \"rsm\"\npath = \"src/lib.rs\"\ncrate-type = [\"cdylib\"]\n\n\
         [workspace]\n",
    )
    .expect("write probe Cargo.toml");
    fs::write(
        dir.join("build.rs"),
        format!("include!({:?});\n", capi.join("build.rs")),
    )
    .expect("write probe build.rs");
    fs::write(
        dir.join("src/lib.rs"),
        format!(
            r#"//! Symbol-version probe, generated by rsm-capi's tests/symbols.rs.
#[path = {types:?}]
pub mod types;
#[path = {abi:?}]
pub mod abi;

pub mod sunw {{
    use core::ffi::c_int;
    crate::entry_points! {{
        version "SUNWprivate_1.1";

        /// Adds.
        pub unsafe extern "C" fn rsm_probe_add(a: c_int, b: c_int) -> c_int {{
            a.wrapping_add(b)
        }}

        /// Panics unless `flag` is 0.
        pub unsafe extern "C" fn rsm_probe_panics(flag: c_int) -> c_int {{
            if flag != 0 {{
                panic!("probe panic {{flag}}");
            }}
            flag
        }}
    }}
}}

pub mod ext {{
    use core::ffi::c_int;
    crate::entry_points! {{
        version "RSMEXT_1.0";

        /// Stores a constant through `out`.
        pub unsafe extern "C" fn rsm_probe_store(out: *mut u64) -> c_int {{
            if out.is_null() {{
                return crate::types::RSMERR_BAD_ADDR;
            }}
            // SAFETY: the C caller passes a valid, aligned pointer.
            unsafe {{ out.write(0x0123_4567_89ab_cdef) }};
            crate::types::RSM_SUCCESS
        }}

        /// Returns nothing.
        pub unsafe extern "C" fn rsm_probe_void() {{}}
    }}
}}

/// Must not be exported: a Rust function.
pub fn probe_helper() -> i32 {{
    1
}}

/// Must not be exported: `extern "C"` without `no_mangle`.
pub extern "C" fn probe_not_exported() -> i32 {{
    2
}}
"#,
            types = capi.join("src/types.rs"),
            abi = capi.join("src/abi.rs"),
        ),
    )
    .expect("write probe lib.rs");
}

const PROBE_C: &str = r#"#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

int rsm_probe_add(int a, int b);
int rsm_probe_panics(int flag);
int rsm_probe_store(uint64_t *out);
void rsm_probe_void(void);

int main(void)
{
    uint64_t value = 0;
    int stored = rsm_probe_store(&value);
    int null_store = rsm_probe_store(NULL);
    rsm_probe_void();
    int sunw = dlvsym(RTLD_DEFAULT, "rsm_probe_add", "SUNWprivate_1.1") != NULL;
    int wrong = dlvsym(RTLD_DEFAULT, "rsm_probe_add", "RSMEXT_1.0") != NULL;
    int ext = dlvsym(RTLD_DEFAULT, "rsm_probe_store", "RSMEXT_1.0") != NULL;
    int helper = dlsym(RTLD_DEFAULT, "probe_not_exported") != NULL;
    printf("add=%d panics=%d ok=%d store=%d value=%llx null=%d\n",
           rsm_probe_add(2, 40), rsm_probe_panics(7), rsm_probe_panics(0), stored,
           (unsigned long long)value, null_store);
    printf("dlvsym sunw=%d wrong=%d ext=%d helper=%d\n", sunw, wrong, ext, helper);
    return 0;
}
"#;

#[test]
fn symbol_version_mechanism_works_end_to_end() {
    let dir = scratch_dir("symver-probe");
    let krate = dir.join("crate");
    write_probe_crate(&krate);

    let target = dir.join("target");
    let mut build = Command::new(cargo_program());
    build
        .args(["build", "--offline", "--manifest-path"])
        .arg(krate.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET");
    run_ok(&mut build, Duration::from_secs(300));
    let library = target.join("debug").join("librsm.so");

    assert_eq!(soname(&library).as_deref(), Some("librsm.so.2"));
    let expected: BTreeSet<String> = [
        "rsm_probe_add@@SUNWprivate_1.1",
        "rsm_probe_panics@@SUNWprivate_1.1",
        "rsm_probe_store@@RSMEXT_1.0",
        "rsm_probe_void@@RSMEXT_1.0",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(defined_dynamic_symbols(&library), expected);

    let lib_dir = stage_library(&library, &dir.join("stage").join("lib"));
    let source = dir.join("probe.c");
    fs::write(&source, PROBE_C).expect("write probe.c");
    let exe = dir.join("probe");
    let mut compile = cc(["-std=gnu11", "-o"]);
    compile
        .arg(&exe)
        .arg(&source)
        .arg("-L")
        .arg(&lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-lrsm");
    run_ok(&mut compile, TOOL_TIMEOUT);

    // The program records which version of each symbol it needs.
    let needed = run_ok(Command::new("readelf").arg("-V").arg(&exe), TOOL_TIMEOUT).stdout;
    let from_librsm: Vec<&str> = needed
        .split("File: ")
        .filter(|section| section.starts_with("librsm.so.2"))
        .collect();
    assert_eq!(from_librsm.len(), 1, "{needed}");
    assert!(from_librsm[0].contains("Name: SUNWprivate_1.1"), "{needed}");
    assert!(from_librsm[0].contains("Name: RSMEXT_1.0"), "{needed}");

    let output = run_ok(&mut Command::new(&exe), Duration::from_secs(30));
    assert_eq!(
        output.stdout,
        "add=42 panics=100 ok=0 store=0 value=123456789abcdef null=16\n\
         dlvsym sunw=1 wrong=0 ext=1 helper=0\n",
        "{output}"
    );
    assert!(
        output
            .stderr
            .contains("librsm: internal error in rsm_probe_panics: probe panic 7"),
        "{output}"
    );
}

#[test]
fn install_script_installs_library_link_and_headers_under_prefix() {
    let dir = scratch_dir("install");
    let prefix = dir.join("prefix");
    let mut install = Command::new("sh");
    install
        .arg(manifest_dir().join("install.sh"))
        .arg(&prefix)
        .env("LIBRSM", built_library())
        .env_remove("DESTDIR");
    run_ok(&mut install, TOOL_TIMEOUT);

    let lib = prefix.join("lib");
    let file = lib.join("librsm.so.2");
    assert!(
        fs::symlink_metadata(&file)
            .expect("lib/librsm.so.2")
            .file_type()
            .is_file()
    );
    assert_eq!(soname(&file).as_deref(), Some("librsm.so.2"));
    assert_eq!(
        fs::read_link(lib.join("librsm.so")).expect("lib/librsm.so is a link"),
        PathBuf::from("librsm.so.2")
    );
    for header in [
        "rsmapi.h",
        "rsmapi_ext.h",
        "sys/rsm/rsm_common.h",
        "sys/rsm/rsmapi_common.h",
    ] {
        let installed = fs::read(prefix.join("include").join(header)).expect(header);
        let source = fs::read(include_dir().join(header)).expect(header);
        assert!(
            installed == source,
            "{header} differs from capi/include/{header}"
        );
    }

    // The installed headers alone are enough to build the layout test.
    let exe = dir.join("layout");
    let mut compile = Command::new(cc_program());
    compile
        .arg("-I")
        .arg(prefix.join("include"))
        .args(["-std=gnu11", "-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(manifest_dir().join("tests/c/layout.c"));
    run_ok(&mut compile, TOOL_TIMEOUT);
    let out = run_ok(&mut Command::new(&exe), TOOL_TIMEOUT);
    assert!(out.stdout.ends_with(" 0 mismatches\n"), "{out}");

    // DESTDIR is prepended; a relative PREFIX is refused.
    let mut staged = Command::new("sh");
    staged
        .arg(manifest_dir().join("install.sh"))
        .arg("/opt/rsm")
        .env("LIBRSM", built_library())
        .env("DESTDIR", dir.join("destdir"));
    run_ok(&mut staged, TOOL_TIMEOUT);
    assert!(dir.join("destdir/opt/rsm/lib/librsm.so.2").is_file());
    assert!(
        dir.join("destdir/opt/rsm/include/sys/rsm/rsm_common.h")
            .is_file()
    );
    let mut relative = Command::new("sh");
    relative
        .arg(manifest_dir().join("install.sh"))
        .arg("relative/prefix")
        .env("LIBRSM", built_library());
    let refused = run(&mut relative, TOOL_TIMEOUT).expect("sh runs");
    assert_eq!(refused.status.and_then(|s| s.code()), Some(2), "{refused}");
}
