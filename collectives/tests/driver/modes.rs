//! The other driver modes.
use rsm_collectives::Comm;

pub fn repro(_c: &Comm) -> i32 {
    0
}
pub fn death(_c: Comm, _a: &[String]) -> i32 {
    0
}
pub fn bad_args(_c: &Comm) -> i32 {
    0
}
pub fn mismatch(_c: &Comm) -> i32 {
    0
}
pub fn env_forcing(_c: &Comm) -> i32 {
    0
}
pub fn split(_c: &Comm) -> i32 {
    0
}
