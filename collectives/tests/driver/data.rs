//! Deterministic test data: every value is a function of (case, rank, index, salt), so every
//! rank can compute every other rank's buffers — and hence the reference — by itself.

use core::fmt::Debug;

use bytemuck::{Pod, Zeroable};

/// splitmix64.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

pub fn hash(case: u64, rank: usize, i: usize, salt: u64) -> u64 {
    mix(mix(mix(case ^ salt.rotate_left(48)) ^ rank as u64) ^ i as u64)
}

/// An element type the tests generate.
pub trait Gen: Pod + PartialEq + Debug + Send + Sync {
    const NAME: &'static str;
    fn make(h: u64) -> Self;
}

/// Salt of input values.
pub const INPUT: u64 = 1;
/// Salt of the initial contents of receive buffers (must survive where nothing lands).
pub const SENTINEL: u64 = 2;

pub fn vals<T: Gen>(case: u64, rank: usize, n: usize, salt: u64) -> Vec<T> {
    (0..n).map(|i| T::make(hash(case, rank, i, salt))).collect()
}

macro_rules! int_gen {
    ($($t:ty),*) => {$(
        impl Gen for $t {
            const NAME: &'static str = stringify!($t);
            fn make(h: u64) -> Self {
                // A quarter zeros (logical operators), small and large magnitudes, signs.
                match h % 8 {
                    0 | 1 => 0,
                    2 => (h >> 40) as $t & 7,
                    _ => (h >> 8) as $t,
                }
            }
        }
    )*};
}
int_gen!(u8, i32, i64);

impl Gen for f64 {
    const NAME: &'static str = "f64";
    fn make(h: u64) -> Self {
        // Magnitudes 2^-20 .. 2^20 with both signs: sums depend on the combination order.
        let m = (h >> 12) as f64 / (1u64 << 52) as f64;
        let e = ((h >> 4) % 41) as i32 - 20;
        let s = if h & 1 == 1 { -1.0 } else { 1.0 };
        s * (1.0 + m) * 2f64.powi(e)
    }
}

impl Gen for f32 {
    const NAME: &'static str = "f32";
    fn make(h: u64) -> Self {
        let m = (h >> 41) as f32 / (1u32 << 23) as f32;
        let e = ((h >> 4) % 41) as i32 - 20;
        let s = if h & 1 == 1 { -1.0 } else { 1.0 };
        s * (1.0 + m) * 2f32.powi(e)
    }
}

/// A 12-byte element (pieces of odd byte sizes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct Triple(pub [u32; 3]);

impl Gen for Triple {
    const NAME: &'static str = "Triple";
    fn make(h: u64) -> Self {
        Triple([h as u32, (h >> 32) as u32, mix(h) as u32])
    }
}

/// An affine map `x ↦ m·x + c` (wrapping); composition is associative, not commutative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct Affine {
    pub m: i64,
    pub c: i64,
}

impl Gen for Affine {
    const NAME: &'static str = "Affine";
    fn make(h: u64) -> Self {
        Affine {
            m: ((h >> 3) % 7) as i64 - 3,
            c: (h >> 20) as i64,
        }
    }
}

/// `a` then `b`: `x ↦ b.m·(a.m·x + a.c) + b.c`.
pub fn compose(a: Affine, b: Affine) -> Affine {
    Affine {
        m: a.m.wrapping_mul(b.m),
        c: b.m.wrapping_mul(a.c).wrapping_add(b.c),
    }
}
