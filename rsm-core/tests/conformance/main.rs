//! Conformance suite for rsm-core on the shared-memory backend: real multi-process tests
//! (peers are this binary re-executed), each in its own namespace, each asserting that no
//! `rsm.<ns>.*` name is left behind, each bounded in time.

mod harness;
mod peer;

mod t_acl;
mod t_barrier;
mod t_controller;
mod t_export;
mod t_import;
mod t_locks;
mod t_revocation;
mod t_sgio;
mod t_signals;

/// Entry point of peer processes (run by the other tests with `--ignored --exact`).
#[test]
#[ignore = "peer process entry point; run by the other tests"]
fn peer_main() {
    if std::env::var_os("RSM_TEST_PEER").is_some() {
        peer::run();
    }
}
