//! The public headers in `capi/include` against SPEC.md and against the Rust mirrors in
//! `rsm::types`:
//!
//! * every `RSMERR_*` code of `sys/rsm/rsm_common.h` against the table of SPEC.md §3.1,
//!   hard-coded below;
//! * every constant of every header against its `rsm::types` mirror (both directions);
//! * every struct size, alignment and field offset as the C compiler sees it against Rust;
//! * each header compiles on its own in strict C and C++ modes;
//! * `exports.txt` / `exports_ext.txt` against the prototypes the headers declare.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::mem::{align_of, offset_of, size_of};
use std::process::Command;

use common::*;
use rsm::types::*;

/// SPEC.md §3.1, in SPEC's order: every return code and its value.
const SPEC_RETURN_CODES: &[(&str, i128)] = &[
    ("RSM_SUCCESS", 0),
    ("RSMERR_BAD_LIBRARY_VERSION", 1),
    ("RSMERR_BAD_TOPOLOGY_PTR", 2),
    ("RSMERR_BAD_CTLR_HNDL", 3),
    ("RSMERR_CTLR_NOT_PRESENT", 4),
    ("RSMERR_BAD_SEG_HNDL", 5),
    ("RSMERR_SEG_ALREADY_PUBLISHED", 6),
    ("RSMERR_SEG_NOT_PUBLISHED", 7),
    ("RSMERR_SEG_NOT_PUBLISHED_TO_NODE", 8),
    ("RSMERR_SEG_ALREADY_MAPPED", 9),
    ("RSMERR_SEG_STILL_MAPPED", 10),
    ("RSMERR_SEG_NOT_MAPPED", 11),
    ("RSMERR_NOT_CREATOR", 12),
    ("RSMERR_BAD_BARRIER_PTR", 13),
    ("RSMERR_BAD_SGIO", 14),
    ("RSMERR_BAD_LOCALMEM_HNDL", 15),
    ("RSMERR_BAD_ADDR", 16),
    ("RSMERR_BAD_MEM_ALIGNMENT", 17),
    ("RSMERR_BAD_OFFSET", 18),
    ("RSMERR_MISALIGNED_OFFSET", 19),
    ("RSMERR_BAD_LENGTH", 20),
    ("RSMERR_BAD_ACL", 21),
    ("RSMERR_BAD_SEGID", 22),
    ("RSMERR_RESERVED_SEGID", 23),
    ("RSMERR_SEGID_IN_USE", 24),
    ("RSMERR_BAD_MODE", 25),
    ("RSMERR_BAD_PERMS", 26),
    ("RSMERR_PERM_DENIED", 27),
    ("RSMERR_LOCKS_NOT_SUPPORTED", 28),
    ("RSMERR_LOCKS_NOT_ENABLED", 29),
    ("RSMERR_REBIND_NOT_ALLOWED", 30),
    ("RSMERR_INSUFFICIENT_RESOURCES", 31),
    ("RSMERR_INSUFFICIENT_MEM", 32),
    ("RSMERR_MAP_FAILED", 33),
    ("RSMERR_POLLFD_IN_USE", 34),
    ("RSMERR_BARRIER_UNINITIALIZED", 35),
    ("RSMERR_BARRIER_OPEN_FAILED", 36),
    ("RSMERR_BARRIER_NOT_OPENED", 37),
    ("RSMERR_BARRIER_FAILURE", 38),
    ("RSMERR_REMOTE_NODE_UNREACHABLE", 39),
    ("RSMERR_CONN_ABORTED", 40),
    ("RSMERR_INTERRUPTED", 41),
    ("RSMERR_TIMEOUT", 42),
    ("RSMERR_BAD_APPID", 43),
    ("RSMERR_BAD_CONF", 44),
    ("RSMERR_SEG_NOT_CONNECTED", 45),
    ("RSMERR_INTERNAL_ERROR", 100),
    ("RSMERR_BAD_DRIVER_VERSION", 101),
    ("RSMERR_UNSUPPORTED_VERSION", 102),
    ("RSMERR_DRIVER_NAME_IN_USE", 103),
    ("RSMERR_DRIVER_NOT_REGISTERED", 104),
    ("RSMERR_DRIVER_THREAD_RUNNING", 105),
    ("RSMERR_NEED_THREAD_INIT", 106),
    ("RSMERR_THREAD_NOT_INITED", 107),
    ("RSMERR_CTLRS_REGISTERED", 108),
    ("RSMERR_CTLR_NOT_REGISTERED", 109),
    ("RSMERR_CTLR_ALREADY_REGISTERED", 110),
    ("RSMERR_CTLR_IN_USE", 111),
    ("RSMERR_NAME_TOO_LONG", 112),
    ("RSMERR_SEG_PUBLISHED", 113),
    ("RSMERR_SEG_NOT_PUBLISHED_TO_RSM_ADDR", 114),
    ("RSMERR_SEG_IN_USE", 115),
    ("RSMERR_BAD_SENDQ_HNDL", 116),
    ("RSMERR_BAD_ARGS_ERRORS", 117),
    ("RSMERR_BAD_MSTYPE", 118),
    ("RSMERR_NO_BACKING_MEM", 119),
    ("RSMERR_NOT_MEM", 120),
    ("RSMERR_MEM_ALREADY_BOUND", 121),
    ("RSMERR_MEM_NOT_BOUND", 122),
    ("RSMERR_HANDLER_NOT_REGISTERED", 123),
    ("RSMERR_NO_HANDLER", 124),
    ("RSMERR_UNBIND_REBIND_NOT_ALLOWED", 125),
    ("RSMERR_CALLBACKS_NOT_SUPPORTED", 126),
    ("RSMERR_UNSUPPORTED_OPERATION", 127),
    ("RSMERR_RSM_ADDR_UNREACHABLE", 128),
    ("RSMERR_UNKNOWN_RSM_ADDR", 129),
    ("RSMERR_BAD_BARRIER_HNDL", 130),
    ("RSMERR_COMM_ERR_MAYBE_DELIVERED", 131),
    ("RSMERR_COMM_ERR_NOT_DELIVERED", 132),
    ("RSMERR_QUEUE_FENCE_UP", 133),
    ("RSMERR_QUEUE_FULL", 134),
];

/// The headers, in the order a program including `<rsmapi_ext.h>` reads them.
const HEADERS: [&str; 4] = [
    "sys/rsm/rsm_common.h",
    "sys/rsm/rsmapi_common.h",
    "rsmapi.h",
    "rsmapi_ext.h",
];

fn read_header(name: &str) -> String {
    let path = include_dir().join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// (header, name, value text) of every constant, in reading order.
fn all_constants() -> Vec<(&'static str, String, String)> {
    HEADERS
        .iter()
        .flat_map(|&h| {
            header_constants(&read_header(h))
                .into_iter()
                .map(move |(name, value)| (h, name, value))
        })
        .collect()
}

fn is_return_code(name: &str) -> bool {
    name == "RSM_SUCCESS" || name.starts_with("RSMERR_")
}

#[test]
fn return_codes_match_the_spec_table() {
    let constants = all_constants();
    let known = BTreeMap::new();
    let mut in_header: BTreeMap<String, i128> = BTreeMap::new();
    let mut order = Vec::new();
    for (header, name, value) in &constants {
        if !is_return_code(name) {
            continue;
        }
        assert_eq!(
            *header, "sys/rsm/rsm_common.h",
            "{name} must be defined in sys/rsm/rsm_common.h only"
        );
        let value = eval_constant(value, &known).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            in_header.insert(name.clone(), value).is_none(),
            "{name} is defined twice"
        );
        order.push(name.clone());
    }

    let spec: BTreeMap<String, i128> = SPEC_RETURN_CODES
        .iter()
        .map(|&(n, v)| (n.to_owned(), v))
        .collect();
    assert_eq!(spec.len(), 81, "the SPEC table has 46 + 35 codes");
    let missing: Vec<_> = spec
        .keys()
        .filter(|n| !in_header.contains_key(*n))
        .collect();
    let extra: Vec<_> = in_header
        .keys()
        .filter(|n| !spec.contains_key(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "codes of SPEC §3.1 missing from the header: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "codes in the header but not in SPEC §3.1: {extra:?}"
    );
    for (name, value) in &spec {
        assert_eq!(in_header[name], *value, "value of {name}");
    }

    // SPEC §3.1: the header defines RSMERR_INTERNAL_ERROR after the 101..=134 block; all
    // other codes appear in increasing order.
    assert_eq!(
        order.last().map(String::as_str),
        Some("RSMERR_INTERNAL_ERROR")
    );
    let values: Vec<i128> = order[..order.len() - 1]
        .iter()
        .map(|n| in_header[n])
        .collect();
    assert!(
        values.windows(2).all(|w| w[0] < w[1]),
        "codes out of order: {order:?}"
    );
}

macro_rules! mirror {
    ($($name:ident),* $(,)?) => {
        vec![$((stringify!($name), $name as i128)),*]
    };
}

#[test]
fn every_header_constant_matches_the_rust_mirror() {
    let rust: Vec<(&str, i128)> = mirror![
        // rsm_common.h
        RSM_VERSION,
        RSM_SUCCESS,
        RSMERR_BAD_LIBRARY_VERSION,
        RSMERR_BAD_TOPOLOGY_PTR,
        RSMERR_BAD_CTLR_HNDL,
        RSMERR_CTLR_NOT_PRESENT,
        RSMERR_BAD_SEG_HNDL,
        RSMERR_SEG_ALREADY_PUBLISHED,
        RSMERR_SEG_NOT_PUBLISHED,
        RSMERR_SEG_NOT_PUBLISHED_TO_NODE,
        RSMERR_SEG_ALREADY_MAPPED,
        RSMERR_SEG_STILL_MAPPED,
        RSMERR_SEG_NOT_MAPPED,
        RSMERR_NOT_CREATOR,
        RSMERR_BAD_BARRIER_PTR,
        RSMERR_BAD_SGIO,
        RSMERR_BAD_LOCALMEM_HNDL,
        RSMERR_BAD_ADDR,
        RSMERR_BAD_MEM_ALIGNMENT,
        RSMERR_BAD_OFFSET,
        RSMERR_MISALIGNED_OFFSET,
        RSMERR_BAD_LENGTH,
        RSMERR_BAD_ACL,
        RSMERR_BAD_SEGID,
        RSMERR_RESERVED_SEGID,
        RSMERR_SEGID_IN_USE,
        RSMERR_BAD_MODE,
        RSMERR_BAD_PERMS,
        RSMERR_PERM_DENIED,
        RSMERR_LOCKS_NOT_SUPPORTED,
        RSMERR_LOCKS_NOT_ENABLED,
        RSMERR_REBIND_NOT_ALLOWED,
        RSMERR_INSUFFICIENT_RESOURCES,
        RSMERR_INSUFFICIENT_MEM,
        RSMERR_MAP_FAILED,
        RSMERR_POLLFD_IN_USE,
        RSMERR_BARRIER_UNINITIALIZED,
        RSMERR_BARRIER_OPEN_FAILED,
        RSMERR_BARRIER_NOT_OPENED,
        RSMERR_BARRIER_FAILURE,
        RSMERR_REMOTE_NODE_UNREACHABLE,
        RSMERR_CONN_ABORTED,
        RSMERR_INTERRUPTED,
        RSMERR_TIMEOUT,
        RSMERR_BAD_APPID,
        RSMERR_BAD_CONF,
        RSMERR_SEG_NOT_CONNECTED,
        RSMERR_BAD_DRIVER_VERSION,
        RSMERR_UNSUPPORTED_VERSION,
        RSMERR_DRIVER_NAME_IN_USE,
        RSMERR_DRIVER_NOT_REGISTERED,
        RSMERR_DRIVER_THREAD_RUNNING,
        RSMERR_NEED_THREAD_INIT,
        RSMERR_THREAD_NOT_INITED,
        RSMERR_CTLRS_REGISTERED,
        RSMERR_CTLR_NOT_REGISTERED,
        RSMERR_CTLR_ALREADY_REGISTERED,
        RSMERR_CTLR_IN_USE,
        RSMERR_NAME_TOO_LONG,
        RSMERR_SEG_PUBLISHED,
        RSMERR_SEG_NOT_PUBLISHED_TO_RSM_ADDR,
        RSMERR_SEG_IN_USE,
        RSMERR_BAD_SENDQ_HNDL,
        RSMERR_BAD_ARGS_ERRORS,
        RSMERR_BAD_MSTYPE,
        RSMERR_NO_BACKING_MEM,
        RSMERR_NOT_MEM,
        RSMERR_MEM_ALREADY_BOUND,
        RSMERR_MEM_NOT_BOUND,
        RSMERR_HANDLER_NOT_REGISTERED,
        RSMERR_NO_HANDLER,
        RSMERR_UNBIND_REBIND_NOT_ALLOWED,
        RSMERR_CALLBACKS_NOT_SUPPORTED,
        RSMERR_UNSUPPORTED_OPERATION,
        RSMERR_RSM_ADDR_UNREACHABLE,
        RSMERR_UNKNOWN_RSM_ADDR,
        RSMERR_BAD_BARRIER_HNDL,
        RSMERR_COMM_ERR_MAYBE_DELIVERED,
        RSMERR_COMM_ERR_NOT_DELIVERED,
        RSMERR_QUEUE_FENCE_UP,
        RSMERR_QUEUE_FULL,
        RSMERR_INTERNAL_ERROR,
        RSM_DRIVER_PRIVATE_ID_BASE,
        RSM_DRIVER_PRIVATE_ID_END,
        RSM_CLUSTER_TRANSPORT_ID_BASE,
        RSM_CLUSTER_TRANSPORT_ID_END,
        RSM_RSMLIB_ID_BASE,
        RSM_RSMLIB_ID_END,
        RSM_DLPI_ID_BASE,
        RSM_DLPI_ID_END,
        RSM_HPC_ID_BASE,
        RSM_HPC_ID_END,
        RSM_OPS_ID_BASE,
        RSM_OPS_ID_END,
        RSM_USER_APP_ID_BASE,
        RSM_USER_APP_ID_END,
        RSM_PERM_NONE,
        RSM_PERM_READ,
        RSM_PERM_WRITE,
        RSM_PERM_RDWR,
        RSM_MAX_SGIOREQS,
        RSM_DAS8,
        RSM_DAS16,
        RSM_DAS32,
        RSM_DAS64,
        RSM_BARRIER_SEGMENT,
        RSM_BARRIER_NODE,
        RSM_BARRIER_SEGMENT_THREAD,
        RSM_BARRIER_NODE_THREAD,
        RSM_BARRIER_MODE_EXPLICIT,
        RSM_BARRIER_MODE_IMPLICIT,
        // rsmapi_common.h
        RSM_HANDLE_TYPE,
        RSM_VA_TYPE,
        RSM_ALLOW_REBIND,
        RSM_CREATE_SEG_DONTWAIT,
        RSM_IMPLICIT_SIGPOST,
        RSM_SIGPOST_NO_ACCUMULATE,
        // rsmapi.h
        MAXNAMELEN,
        RSM_MAP_NONE,
        RSM_MAP_FIXED,
        RSM_MAP_RESERVED,
        RSM_BAR_DEFAULT,
        RSM_CONNECTION_ACTIVE,
        // rsmapi_ext.h
        RSM_EXT_VERSION,
        RSM_LOCK_OPS,
    ];

    let mut known: BTreeMap<String, i128> = BTreeMap::new();
    for (header, name, value) in all_constants() {
        let value =
            eval_constant(&value, &known).unwrap_or_else(|e| panic!("{header}: {name}: {e}"));
        assert!(
            known.insert(name.clone(), value).is_none(),
            "{header}: {name} is defined twice"
        );
    }
    let rust_map: BTreeMap<String, i128> = rust.iter().map(|&(n, v)| (n.to_owned(), v)).collect();
    assert_eq!(
        rust_map.len(),
        rust.len(),
        "duplicate name in the mirror list"
    );

    let only_c: Vec<_> = known
        .keys()
        .filter(|n| !rust_map.contains_key(*n))
        .collect();
    let only_rust: Vec<_> = rust_map
        .keys()
        .filter(|n| !known.contains_key(*n))
        .collect();
    assert!(
        only_c.is_empty(),
        "header constants without a rsm::types mirror: {only_c:?}"
    );
    assert!(
        only_rust.is_empty(),
        "rsm::types constants missing from the headers: {only_rust:?}"
    );
    for (name, value) in &known {
        assert_eq!(rust_map[name], *value, "{name}: Rust mirror vs header");
    }
}

/// Size, alignment and field offsets of one type, as Rust sees it.
struct Layout {
    name: &'static str,
    size: usize,
    align: usize,
    fields: Vec<(String, usize)>,
}

macro_rules! layouts {
    ($($ty:ident { $($field:ident $(. $sub:ident)?),* $(,)? })*) => {
        vec![$(
            Layout {
                name: stringify!($ty),
                size: size_of::<$ty>(),
                align: align_of::<$ty>(),
                fields: vec![$((
                    concat!(stringify!($field) $(, ".", stringify!($sub))?).to_owned(),
                    offset_of!($ty, $field $(. $sub)?),
                )),*],
            }
        ),*]
    };
}

#[test]
fn c_and_rust_agree_on_every_layout() {
    let layouts = layouts! {
        uchar_t {}
        uint_t {}
        ulong_t {}
        offset_t {}
        caddr_t {}
        rsm_addr_t {}
        rsm_node_id_t {}
        rsm_memseg_id_t {}
        rsm_permission_t {}
        rsm_memseg_import_handle_t {}
        rsm_memseg_export_handle_t {}
        rsm_localmemory_handle_t {}
        rsmapi_controller_handle_t {}
        rsm_attribute_t {}
        rsm_access_size_t {}
        rsm_barrier_type_t {}
        rsm_barrier_mode_t {}
        rsmapi_controller_attr_t {
            attr_direct_access_sizes, attr_atomic_sizes, attr_page_size,
            attr_max_export_segment_size, attr_tot_export_segment_size,
            attr_max_export_segments, attr_max_import_map_size, attr_tot_import_map_size,
            attr_max_import_segments,
        }
        rsmapi_access_entry_t { ae_node, ae_permission }
        rsmapi_barrier_t { seg, gnum, privdata }
        rsm_iovec_t {
            io_type, local, local.handle, local.vaddr, local_offset, remote_offset,
            transfer_length,
        }
        rsm_scat_gath_t {
            local_nodeid, io_request_count, io_residual_count, flags, remote_handle, iovec,
        }
        rsm_barrier_component_t { u64, i64, u32, i32, u16, i16, u8, i8, uc, c, vp }
        rsm_barrier_t { comp }
        rsm_topology_hdr_t { local_nodeid, local_cntlr_count }
        rsm_connections_hdr_t { cntlr_name, local_hwaddr, remote_cntlr_count }
        rsm_remote_cntlr_t { remote_nodeid, remote_cntlrname, remote_hwaddr, connection_state }
        rsm_connections_t { hdr, remote_cntlr }
        rsm_topology_t { topology_hdr, connections }
    };

    let mut program = String::from(
        "#include <rsmapi.h>\n#include <rsmapi_ext.h>\n#include <stddef.h>\n#include <stdio.h>\n\
         int main(void)\n{\n",
    );
    let mut expected = String::new();
    for l in &layouts {
        program.push_str(&format!(
            "    printf(\"{0} size %zu align %zu\\n\", sizeof({0}), _Alignof({0}));\n",
            l.name
        ));
        expected.push_str(&format!("{} size {} align {}\n", l.name, l.size, l.align));
        for (field, offset) in &l.fields {
            program.push_str(&format!(
                "    printf(\"{0}.{1} %zu\\n\", offsetof({0}, {1}));\n",
                l.name, field
            ));
            expected.push_str(&format!("{}.{} {}\n", l.name, field, offset));
        }
    }
    program.push_str("    return 0;\n}\n");

    let dir = scratch_dir("layout-compare");
    let source = dir.join("layouts.c");
    fs::write(&source, &program).expect("write layouts.c");
    let exe = dir.join("layouts");
    run_ok(
        cc(["-std=c11", "-pedantic-errors", "-o"])
            .arg(&exe)
            .arg(&source),
        TOOL_TIMEOUT,
    );
    let output = run_ok(&mut Command::new(&exe), TOOL_TIMEOUT);

    let c_lines: Vec<&str> = output.stdout.lines().collect();
    let rust_lines: Vec<&str> = expected.lines().collect();
    let differences: Vec<String> = rust_lines
        .iter()
        .zip(&c_lines)
        .filter(|(r, c)| r != c)
        .map(|(r, c)| format!("Rust `{r}` vs C `{c}`"))
        .collect();
    assert_eq!(
        c_lines.len(),
        rust_lines.len(),
        "line count\n{}",
        output.stdout
    );
    assert!(
        differences.is_empty(),
        "layout differences:\n{}",
        differences.join("\n")
    );
}

#[test]
fn every_header_compiles_alone_in_strict_c_and_cxx_modes() {
    let modes: &[(&str, &[&str])] = &[
        ("cc", &["-x", "c", "-std=c99", "-pedantic-errors"]),
        ("cc", &["-x", "c", "-std=c11", "-pedantic-errors"]),
        (
            "cc",
            &[
                "-x",
                "c",
                "-std=c17",
                "-pedantic-errors",
                "-D_FILE_OFFSET_BITS=64",
            ],
        ),
        ("cc", &["-x", "c", "-std=gnu17", "-D_GNU_SOURCE"]),
        ("cc", &["-x", "c", "-std=c99", "-D_XOPEN_SOURCE=700"]),
        ("c++", &["-x", "c++", "-std=c++11", "-pedantic-errors"]),
        ("c++", &["-x", "c++", "-std=c++17"]),
    ];
    let dir = scratch_dir("header-modes");
    let mut failures = Vec::new();
    for header in HEADERS {
        // Included alone, twice (include guards), and after the others in reverse order.
        let mut reverse: Vec<&str> = HEADERS.to_vec();
        reverse.retain(|h| *h != header);
        reverse.reverse();
        let variants = [
            format!("#include <{header}>\n"),
            format!("#include <{header}>\n#include <{header}>\n"),
            reverse
                .iter()
                .chain(std::iter::once(&header))
                .map(|h| format!("#include <{h}>\n"))
                .collect::<String>(),
        ];
        for (i, text) in variants.iter().enumerate() {
            let file = dir.join(format!("{}-{i}.h.test", header.replace('/', "_")));
            fs::write(&file, format!("{text}int rsm_header_test_anchor;\n"))
                .expect("write test source");
            for (compiler, flags) in modes {
                let program = if *compiler == "cc" {
                    cc_program()
                } else {
                    std::env::var("CXX").unwrap_or_else(|_| "c++".to_owned())
                };
                let mut cmd = Command::new(program);
                cmd.arg("-I")
                    .arg(include_dir())
                    .args(["-Wall", "-Wextra", "-Werror", "-fsyntax-only"])
                    .args(*flags)
                    .arg(&file);
                let out = run(&mut cmd, TOOL_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
                if !out.success() {
                    failures.push(format!("{text}{out}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "header compile failures:\n\n{}",
        failures.join("\n\n")
    );
}

/// Names of the functions a header declares: lines starting with `int rsm_` / `void rsm_`.
fn declared_functions(header: &str) -> Vec<String> {
    strip_c_comments(&read_header(header))
        .lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let rest = line
                .strip_prefix("int ")
                .or_else(|| line.strip_prefix("void "))?;
            let name = rest.split('(').next()?.trim();
            (name.starts_with("rsm_") && rest.contains('(')).then(|| name.to_owned())
        })
        .collect()
}

fn read_export_list(file: &str) -> Vec<String> {
    let path = manifest_dir().join(file);
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(text.ends_with('\n'), "{file}: missing final newline");
    let names: Vec<String> = text.lines().map(str::to_owned).collect();
    for name in &names {
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{file}: bad line `{name}`"
        );
    }
    assert!(
        names.windows(2).all(|w| w[0] < w[1]),
        "{file}: not sorted (byte order) or has duplicates"
    );
    names
}

#[test]
fn export_lists_match_the_header_prototypes() {
    let sunw = read_export_list("exports.txt");
    assert_eq!(
        sunw.len(),
        42,
        "SPEC §4: librsm exports exactly 42 functions"
    );
    let mut declared = declared_functions("rsmapi.h");
    assert_eq!(
        declared.len(),
        42,
        "rsmapi.h must declare 42 functions: {declared:?}"
    );
    declared.sort();
    assert_eq!(declared, sunw, "rsmapi.h prototypes vs exports.txt");

    let ext = read_export_list("exports_ext.txt");
    let mut declared_ext = declared_functions("rsmapi_ext.h");
    declared_ext.sort();
    assert_eq!(
        declared_ext, ext,
        "rsmapi_ext.h prototypes vs exports_ext.txt"
    );
    assert_eq!(ext.len(), 6);

    let sunw: BTreeSet<_> = sunw.into_iter().collect();
    assert!(
        ext.iter().all(|n| !sunw.contains(n)),
        "extension names must be new"
    );
    for sub in ["sys/rsm/rsm_common.h", "sys/rsm/rsmapi_common.h"] {
        assert_eq!(
            declared_functions(sub),
            Vec::<String>::new(),
            "{sub} declares no functions"
        );
    }
}

#[test]
fn constant_evaluation_handles_every_form_used() {
    let mut known = BTreeMap::new();
    assert_eq!(eval_constant("0400", &known), Ok(256));
    assert_eq!(eval_constant("0x1F", &known), Ok(31));
    assert_eq!(eval_constant("0", &known), Ok(0));
    assert_eq!(eval_constant("134", &known), Ok(134));
    known.insert("A".to_owned(), 0o400);
    known.insert("B".to_owned(), 0o200);
    assert_eq!(eval_constant("(A | B)", &known), Ok(0o600));
    assert_eq!(eval_constant("A", &known), Ok(256));
    assert!(eval_constant("C", &known).is_err());
    assert!(eval_constant("08", &known).is_err());

    let parsed = header_constants(
        "#define X 1 /* one */\n#define _GUARD\ntypedef enum {\n    E_A = 0x2, /* two */\n    E_B = 3\n} t;\n",
    );
    assert_eq!(
        parsed,
        vec![
            ("X".to_owned(), "1".to_owned()),
            ("E_A".to_owned(), "0x2".to_owned()),
            ("E_B".to_owned(), "3".to_owned()),
        ]
    );
    assert_eq!(strip_c_comments("a /* b\nc */ d // e\nf"), "a \n d \nf");
}
