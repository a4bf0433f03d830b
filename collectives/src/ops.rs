//! Element types, reduction operators and the reduction kernels.
//!
//! A reduction combines the contributions of the ranks element by element with a binary
//! operator `⊕`. This module provides
//!
//! * the nine predefined operators as zero-sized types ([`Sum`], [`Prod`], [`Min`], [`Max`],
//!   [`Band`], [`Bor`], [`Bxor`], [`Land`], [`Lor`]), usable for exactly the element types where
//!   they make sense (the compiler refuses `Band` on `f64`), and the same operators chosen at run
//!   time ([`OpKind`] → [`Predefined`], which checks the type once);
//! * user-defined operators made from closures ([`UserOp`] element-wise, [`UserSliceOp`] in the
//!   MPI vector style);
//! * the kernels every collective uses, as provided methods of [`ReduceOp`]:
//!   [`combine_left`](ReduceOp::combine_left) (`acc[i] = acc[i] ⊕ rhs[i]`),
//!   [`combine_right`](ReduceOp::combine_right) (`acc[i] = lhs[i] ⊕ acc[i]`),
//!   [`combine_into`](ReduceOp::combine_into) (`out[i] = a[i] ⊕ b[i]`) and
//!   [`fold`](ReduceOp::fold) (`out[i] = in0[i] ⊕ in1[i] ⊕ … ⊕ inK[i]`, evaluated left to right).
//!   They are plain element-wise loops over equal-length slices, monomorphised per element type
//!   and operator, which the compiler vectorises for the predefined operators.
//!
//! # Combination order (the reproducibility contract)
//!
//! The kernels never reorder operands: the left operand of `⊕` is always the partial result of
//! the *lower* ranks and the right operand the one of the *higher* ranks, and
//! [`fold`](ReduceOp::fold) evaluates `((in0 ⊕ in1) ⊕ in2) ⊕ …` for every element, whatever
//! blocking it uses internally. Which partial results meet is fixed by each algorithm's
//! schedule ([`crate::pattern::Combine`]); it depends on the communicator size, the algorithm
//! and the element count only — never on timing — so the same inputs give bit-identical
//! results on every run and on every rank.
//!
//! # Semantics of the predefined operators
//!
//! | operator | integers (`u8`…`u128`, `i8`…`i128`, `usize`, `isize`) | floats (`f32`, `f64`) |
//! |---|---|---|
//! | `sum`, `prod` | wrapping (two's complement) addition / multiplication | IEEE `+` / `*` |
//! | `min`, `max` | the smaller / larger value | see below |
//! | `band`, `bor`, `bxor` | bitwise and / or / xor | not defined |
//! | `land`, `lor` | C semantics: non-zero is true; the result is `1` or `0` | not defined |
//!
//! Float `min`/`max` propagate NaN: if the left operand is NaN the result is the left operand,
//! else if the right operand is NaN the result is the right operand; otherwise the smaller
//! (larger) value, and for equal values (including `-0.0` against `+0.0`) the left operand.
//!
//! All predefined operators are commutative; a user operator is non-commutative unless it is
//! built with [`UserOp::commutative`] / [`UserSliceOp::commutative`]. Algorithms whose schedule
//! is not rank-ordered ([`crate::pattern::Combine::is_rank_ordered`]) are only used with
//! commutative operators.

use core::fmt;
use core::marker::PhantomData;
use core::str::FromStr;

use bytemuck::Pod;

/// The predefined reduction operators, for choosing one at run time (configuration, tests,
/// benchmarks). [`Predefined::new`] turns a kind into an operator for one element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    /// Addition (wrapping for integers).
    Sum,
    /// Multiplication (wrapping for integers).
    Prod,
    /// Minimum.
    Min,
    /// Maximum.
    Max,
    /// Bitwise and (integers only).
    Band,
    /// Bitwise or (integers only).
    Bor,
    /// Bitwise exclusive or (integers only).
    Bxor,
    /// Logical and, C semantics (integers only).
    Land,
    /// Logical or, C semantics (integers only).
    Lor,
}

impl OpKind {
    /// Every predefined operator, in declaration order.
    pub const ALL: [OpKind; 9] = [
        OpKind::Sum,
        OpKind::Prod,
        OpKind::Min,
        OpKind::Max,
        OpKind::Band,
        OpKind::Bor,
        OpKind::Bxor,
        OpKind::Land,
        OpKind::Lor,
    ];

    /// The lower-case name (`"sum"`, `"band"`, …), as accepted by [`str::parse`].
    pub const fn name(self) -> &'static str {
        match self {
            OpKind::Sum => "sum",
            OpKind::Prod => "prod",
            OpKind::Min => "min",
            OpKind::Max => "max",
            OpKind::Band => "band",
            OpKind::Bor => "bor",
            OpKind::Bxor => "bxor",
            OpKind::Land => "land",
            OpKind::Lor => "lor",
        }
    }

    /// Whether the operator is defined for integers only (the bitwise and logical ones).
    pub const fn integer_only(self) -> bool {
        matches!(
            self,
            OpKind::Band | OpKind::Bor | OpKind::Bxor | OpKind::Land | OpKind::Lor
        )
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OpKind {
    type Err = OpError;

    /// Parses a name case-insensitively; unknown names give [`OpError::UnknownOp`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OpKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| OpError::UnknownOp(s.to_owned()))
    }
}

/// Errors of this module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpError {
    /// A name that is not one of the predefined operators.
    UnknownOp(String),
    /// A predefined operator applied to an element type it is not defined for.
    Unsupported {
        /// The operator.
        op: OpKind,
        /// The element type's name.
        ty: &'static str,
    },
    /// Slices of different lengths were given to a kernel.
    LengthMismatch {
        /// Which operand had the wrong length.
        what: &'static str,
        /// The length of the output/accumulator.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// [`ReduceOp::fold`] was given no input.
    EmptyFold,
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpError::UnknownOp(s) => write!(
                f,
                "unknown reduction operator {s:?} (expected one of sum, prod, min, max, band, bor, bxor, land, lor)"
            ),
            OpError::Unsupported { op, ty } => {
                write!(
                    f,
                    "reduction operator `{op}` is not defined for element type `{ty}`"
                )
            }
            OpError::LengthMismatch {
                what,
                expected,
                found,
            } => write!(
                f,
                "reduction kernel: {what} has {found} elements, expected {expected}"
            ),
            OpError::EmptyFold => f.write_str("reduction kernel: fold of zero inputs"),
        }
    }
}

impl std::error::Error for OpError {}

/// The broad class of an element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemKind {
    /// Unsigned integer.
    Unsigned,
    /// Signed (two's complement) integer.
    Signed,
    /// IEEE 754 binary floating point.
    Float,
}

/// Element types that the predefined operators are defined for: the primitive integers and
/// floats. (Data-movement collectives accept any [`bytemuck::Pod`] type; only reductions with
/// predefined operators need this trait.)
pub trait Element: Pod + Send + Sync + PartialEq + fmt::Debug {
    /// The Rust name of the type (`"u32"`, `"f64"`, …).
    const TYPE_NAME: &'static str;
    /// Integer or float.
    const KIND: ElemKind;

    /// Whether `op` is defined for this type (integers: all nine; floats: sum, prod, min, max).
    fn supports(op: OpKind) -> bool {
        Self::KIND != ElemKind::Float || !op.integer_only()
    }

    /// The monomorphised kernels of `op` for this type, `None` if it is not defined.
    #[doc(hidden)]
    fn kernels(op: OpKind) -> Option<Kernels<Self>>;
}

/// Scalar arithmetic shared by integers and floats (the operators sum, prod, min, max).
pub trait Arith: Element {
    /// `a + b` (wrapping for integers).
    fn op_sum(a: Self, b: Self) -> Self;
    /// `a * b` (wrapping for integers).
    fn op_prod(a: Self, b: Self) -> Self;
    /// Minimum (float: NaN-propagating, left operand on ties).
    fn op_min(a: Self, b: Self) -> Self;
    /// Maximum (float: NaN-propagating, left operand on ties).
    fn op_max(a: Self, b: Self) -> Self;
}

/// Scalar bitwise and logical operators, integers only.
pub trait Integer: Arith {
    /// `a & b`.
    fn op_band(a: Self, b: Self) -> Self;
    /// `a | b`.
    fn op_bor(a: Self, b: Self) -> Self;
    /// `a ^ b`.
    fn op_bxor(a: Self, b: Self) -> Self;
    /// `(a != 0 && b != 0) as T`.
    fn op_land(a: Self, b: Self) -> Self;
    /// `(a != 0 || b != 0) as T`.
    fn op_lor(a: Self, b: Self) -> Self;
}

/// A scalar binary function as a type, so that kernels are monomorphised per operator.
#[doc(hidden)]
pub trait BinaryFn<T>: 'static {
    fn call(a: T, b: T) -> T;
}

macro_rules! binary_fns {
    ($($name:ident: $bound:ident :: $method:ident),* $(,)?) => {$(
        #[doc(hidden)]
        #[derive(Debug)]
        pub struct $name;
        impl<T: $bound> BinaryFn<T> for $name {
            #[inline(always)]
            fn call(a: T, b: T) -> T {
                T::$method(a, b)
            }
        }
    )*};
}

binary_fns! {
    SumFn: Arith::op_sum,
    ProdFn: Arith::op_prod,
    MinFn: Arith::op_min,
    MaxFn: Arith::op_max,
    BandFn: Integer::op_band,
    BorFn: Integer::op_bor,
    BxorFn: Integer::op_bxor,
    LandFn: Integer::op_land,
    LorFn: Integer::op_lor,
}

/// The three kernels of one operator for one element type, as function pointers. Each takes
/// slices of equal length (the callers in [`ReduceOp`] check).
#[doc(hidden)]
pub struct Kernels<T> {
    left: fn(&mut [T], &[T]),
    right: fn(&[T], &mut [T]),
    into: fn(&mut [T], &[T], &[T]),
}

impl<T> Clone for Kernels<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Kernels<T> {}

impl<T> fmt::Debug for Kernels<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kernels")
    }
}

impl<T: Copy> Kernels<T> {
    /// The kernels of the scalar function `F`.
    pub fn of<F: BinaryFn<T>>() -> Self {
        Kernels {
            left: kernel_left::<T, F>,
            right: kernel_right::<T, F>,
            into: kernel_into::<T, F>,
        }
    }
}

// The three element-wise loops. Plain zips over equal-length slices: bounds checks disappear and
// the loops vectorise for the predefined operators.

#[inline]
fn kernel_left<T: Copy, F: BinaryFn<T>>(acc: &mut [T], rhs: &[T]) {
    for (a, &b) in acc.iter_mut().zip(rhs) {
        *a = F::call(*a, b);
    }
}

#[inline]
fn kernel_right<T: Copy, F: BinaryFn<T>>(lhs: &[T], acc: &mut [T]) {
    for (&a, b) in lhs.iter().zip(acc.iter_mut()) {
        *b = F::call(a, *b);
    }
}

#[inline]
fn kernel_into<T: Copy, F: BinaryFn<T>>(out: &mut [T], a: &[T], b: &[T]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = F::call(x, y);
    }
}

fn kernels_for<T: Integer>(op: OpKind) -> Kernels<T> {
    match op {
        OpKind::Sum => Kernels::of::<SumFn>(),
        OpKind::Prod => Kernels::of::<ProdFn>(),
        OpKind::Min => Kernels::of::<MinFn>(),
        OpKind::Max => Kernels::of::<MaxFn>(),
        OpKind::Band => Kernels::of::<BandFn>(),
        OpKind::Bor => Kernels::of::<BorFn>(),
        OpKind::Bxor => Kernels::of::<BxorFn>(),
        OpKind::Land => Kernels::of::<LandFn>(),
        OpKind::Lor => Kernels::of::<LorFn>(),
    }
}

fn float_kernels_for<T: Arith>(op: OpKind) -> Option<Kernels<T>> {
    Some(match op {
        OpKind::Sum => Kernels::of::<SumFn>(),
        OpKind::Prod => Kernels::of::<ProdFn>(),
        OpKind::Min => Kernels::of::<MinFn>(),
        OpKind::Max => Kernels::of::<MaxFn>(),
        _ => return None,
    })
}

macro_rules! int_elements {
    ($($t:ident => $kind:ident),* $(,)?) => {$(
        impl Element for $t {
            const TYPE_NAME: &'static str = stringify!($t);
            const KIND: ElemKind = ElemKind::$kind;
            fn kernels(op: OpKind) -> Option<Kernels<Self>> {
                Some(kernels_for::<$t>(op))
            }
        }
        impl Arith for $t {
            #[inline(always)]
            fn op_sum(a: Self, b: Self) -> Self { a.wrapping_add(b) }
            #[inline(always)]
            fn op_prod(a: Self, b: Self) -> Self { a.wrapping_mul(b) }
            #[inline(always)]
            fn op_min(a: Self, b: Self) -> Self { if b < a { b } else { a } }
            #[inline(always)]
            fn op_max(a: Self, b: Self) -> Self { if b > a { b } else { a } }
        }
        impl Integer for $t {
            #[inline(always)]
            fn op_band(a: Self, b: Self) -> Self { a & b }
            #[inline(always)]
            fn op_bor(a: Self, b: Self) -> Self { a | b }
            #[inline(always)]
            fn op_bxor(a: Self, b: Self) -> Self { a ^ b }
            #[inline(always)]
            fn op_land(a: Self, b: Self) -> Self { ((a != 0) & (b != 0)) as $t }
            #[inline(always)]
            fn op_lor(a: Self, b: Self) -> Self { ((a != 0) | (b != 0)) as $t }
        }
    )*};
}

int_elements! {
    u8 => Unsigned, u16 => Unsigned, u32 => Unsigned, u64 => Unsigned, u128 => Unsigned,
    usize => Unsigned,
    i8 => Signed, i16 => Signed, i32 => Signed, i64 => Signed, i128 => Signed, isize => Signed,
}

macro_rules! float_elements {
    ($($t:ident),* $(,)?) => {$(
        impl Element for $t {
            const TYPE_NAME: &'static str = stringify!($t);
            const KIND: ElemKind = ElemKind::Float;
            fn kernels(op: OpKind) -> Option<Kernels<Self>> {
                float_kernels_for::<$t>(op)
            }
        }
        impl Arith for $t {
            #[inline(always)]
            fn op_sum(a: Self, b: Self) -> Self { a + b }
            #[inline(always)]
            fn op_prod(a: Self, b: Self) -> Self { a * b }
            // Branch-free selects (non-short-circuit `&`/`|` on comparisons) so the loops
            // vectorise; `x == x` is false exactly for NaN.
            #[inline(always)]
            #[allow(clippy::eq_op)]
            fn op_min(a: Self, b: Self) -> Self {
                if (b < a) | ((b != b) & (a == a)) { b } else { a }
            }
            #[inline(always)]
            #[allow(clippy::eq_op)]
            fn op_max(a: Self, b: Self) -> Self {
                if (b > a) | ((b != b) & (a == a)) { b } else { a }
            }
        }
    )*};
}

float_elements!(f32, f64);

mod sealed {
    pub trait Sealed {}
}

/// Elements per block in [`ReduceOp::fold`]: 8 KiB of output, so the output block and the
/// input being folded into it stay in L1 while the next input streams in.
const FOLD_BLOCK_BYTES: usize = 8192;

fn check_len(what: &'static str, expected: usize, found: usize) -> Result<(), OpError> {
    if expected == found {
        Ok(())
    } else {
        Err(OpError::LengthMismatch {
            what,
            expected,
            found,
        })
    }
}

/// A reduction operator over elements of type `T`. Sealed: operators are the predefined ones,
/// [`Predefined`], [`UserOp`] and [`UserSliceOp`] (and references to them).
///
/// Every kernel checks that its slices have equal lengths and returns
/// [`OpError::LengthMismatch`] otherwise; it never panics.
pub trait ReduceOp<T: Pod>: sealed::Sealed + Send + Sync {
    /// A short name for messages (`"sum"`, `"user"`).
    fn name(&self) -> &str;

    /// Whether `a ⊕ b == b ⊕ a` may be assumed (all predefined operators; user operators only
    /// when built as commutative). Non-commutative operators restrict algorithm selection to
    /// rank-ordered schedules.
    fn is_commutative(&self) -> bool;

    #[doc(hidden)]
    fn raw_left(&self, acc: &mut [T], rhs: &[T]);
    #[doc(hidden)]
    fn raw_right(&self, lhs: &[T], acc: &mut [T]);
    #[doc(hidden)]
    fn raw_into(&self, out: &mut [T], a: &[T], b: &[T]);

    /// `acc[i] = acc[i] ⊕ rhs[i]`: `acc` holds the lower ranks' partial result.
    fn combine_left(&self, acc: &mut [T], rhs: &[T]) -> Result<(), OpError> {
        check_len("rhs", acc.len(), rhs.len())?;
        self.raw_left(acc, rhs);
        Ok(())
    }

    /// `acc[i] = lhs[i] ⊕ acc[i]`: `lhs` holds the lower ranks' partial result.
    fn combine_right(&self, lhs: &[T], acc: &mut [T]) -> Result<(), OpError> {
        check_len("lhs", acc.len(), lhs.len())?;
        self.raw_right(lhs, acc);
        Ok(())
    }

    /// `out[i] = a[i] ⊕ b[i]`.
    fn combine_into(&self, out: &mut [T], a: &[T], b: &[T]) -> Result<(), OpError> {
        check_len("a", out.len(), a.len())?;
        check_len("b", out.len(), b.len())?;
        self.raw_into(out, a, b);
        Ok(())
    }

    /// `out[i] = ((inputs[0][i] ⊕ inputs[1][i]) ⊕ inputs[2][i]) ⊕ …` — a left fold in the order
    /// given, blocked so that the output block stays in cache. One input is copied.
    fn fold(&self, out: &mut [T], inputs: &[&[T]]) -> Result<(), OpError> {
        let n = out.len();
        for input in inputs {
            check_len("fold input", n, input.len())?;
        }
        match inputs {
            [] => Err(OpError::EmptyFold),
            [only] => {
                out.copy_from_slice(only);
                Ok(())
            }
            [a, b, rest @ ..] => {
                let block = (FOLD_BLOCK_BYTES / size_of::<T>().max(1)).max(1);
                let mut start = 0;
                while start < n {
                    let end = n.min(start + block);
                    let o = &mut out[start..end];
                    self.raw_into(o, &a[start..end], &b[start..end]);
                    for r in rest {
                        self.raw_left(o, &r[start..end]);
                    }
                    start = end;
                }
                Ok(())
            }
        }
    }
}

impl<O: sealed::Sealed> sealed::Sealed for &O {}

impl<T: Pod, O: ReduceOp<T>> ReduceOp<T> for &O {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn is_commutative(&self) -> bool {
        (**self).is_commutative()
    }
    fn raw_left(&self, acc: &mut [T], rhs: &[T]) {
        (**self).raw_left(acc, rhs)
    }
    fn raw_right(&self, lhs: &[T], acc: &mut [T]) {
        (**self).raw_right(lhs, acc)
    }
    fn raw_into(&self, out: &mut [T], a: &[T], b: &[T]) {
        (**self).raw_into(out, a, b)
    }
}

macro_rules! static_ops {
    ($($(#[$doc:meta])* $name:ident / $fnty:ident: $bound:ident = $kind:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;

        impl $name {
            /// The run-time kind of this operator.
            pub const KIND: OpKind = OpKind::$kind;
        }

        impl sealed::Sealed for $name {}

        impl<T: $bound> ReduceOp<T> for $name {
            fn name(&self) -> &str {
                OpKind::$kind.name()
            }
            fn is_commutative(&self) -> bool {
                true
            }
            #[inline]
            fn raw_left(&self, acc: &mut [T], rhs: &[T]) {
                kernel_left::<T, $fnty>(acc, rhs)
            }
            #[inline]
            fn raw_right(&self, lhs: &[T], acc: &mut [T]) {
                kernel_right::<T, $fnty>(lhs, acc)
            }
            #[inline]
            fn raw_into(&self, out: &mut [T], a: &[T], b: &[T]) {
                kernel_into::<T, $fnty>(out, a, b)
            }
        }
    )*};
}

static_ops! {
    /// Sum (wrapping for integers), for every [`Arith`] type.
    Sum / SumFn: Arith = Sum,
    /// Product (wrapping for integers), for every [`Arith`] type.
    Prod / ProdFn: Arith = Prod,
    /// Minimum, for every [`Arith`] type (floats: NaN-propagating).
    Min / MinFn: Arith = Min,
    /// Maximum, for every [`Arith`] type (floats: NaN-propagating).
    Max / MaxFn: Arith = Max,
    /// Bitwise and, integers only.
    Band / BandFn: Integer = Band,
    /// Bitwise or, integers only.
    Bor / BorFn: Integer = Bor,
    /// Bitwise exclusive or, integers only.
    Bxor / BxorFn: Integer = Bxor,
    /// Logical and (non-zero is true, result 1 or 0), integers only.
    Land / LandFn: Integer = Land,
    /// Logical or (non-zero is true, result 1 or 0), integers only.
    Lor / LorFn: Integer = Lor,
}

/// A predefined operator chosen at run time, checked once against the element type.
#[derive(Clone, Copy, Debug)]
pub struct Predefined<T> {
    kind: OpKind,
    kernels: Kernels<T>,
}

impl<T: Element> Predefined<T> {
    /// The operator `kind` for elements of type `T`, or [`OpError::Unsupported`] (e.g. `band`
    /// on `f64`).
    pub fn new(kind: OpKind) -> Result<Self, OpError> {
        T::kernels(kind)
            .map(|kernels| Predefined { kind, kernels })
            .ok_or(OpError::Unsupported {
                op: kind,
                ty: T::TYPE_NAME,
            })
    }

    /// Which operator this is.
    pub fn kind(&self) -> OpKind {
        self.kind
    }
}

impl<T> sealed::Sealed for Predefined<T> {}

impl<T: Element> ReduceOp<T> for Predefined<T> {
    fn name(&self) -> &str {
        self.kind.name()
    }
    fn is_commutative(&self) -> bool {
        true
    }
    fn raw_left(&self, acc: &mut [T], rhs: &[T]) {
        (self.kernels.left)(acc, rhs)
    }
    fn raw_right(&self, lhs: &[T], acc: &mut [T]) {
        (self.kernels.right)(lhs, acc)
    }
    fn raw_into(&self, out: &mut [T], a: &[T], b: &[T]) {
        (self.kernels.into)(out, a, b)
    }
}

/// A user-defined operator from an element-wise closure `f(a, b) = a ⊕ b`, where `a` is the
/// lower ranks' partial result.
///
/// ```
/// use rsm_collectives::ops::{ReduceOp, UserOp};
/// // Keep the value with the larger magnitude; ties keep the lower rank's value.
/// let absmax = UserOp::commutative(|a: i32, b: i32| if b.abs() > a.abs() { b } else { a });
/// let mut acc = [3, -7, 2];
/// absmax.combine_left(&mut acc, &[-4, 5, -2]).unwrap();
/// assert_eq!(acc, [-4, -7, 2]);
/// ```
pub struct UserOp<T, F> {
    f: F,
    commutative: bool,
    _elem: PhantomData<fn(T, T) -> T>,
}

impl<T: Pod, F: Fn(T, T) -> T + Send + Sync> UserOp<T, F> {
    /// A non-commutative operator: only rank-ordered schedules are used with it.
    pub fn new(f: F) -> Self {
        UserOp {
            f,
            commutative: false,
            _elem: PhantomData,
        }
    }

    /// A commutative operator (`f(a, b) == f(b, a)`), which every algorithm may use.
    pub fn commutative(f: F) -> Self {
        UserOp {
            f,
            commutative: true,
            _elem: PhantomData,
        }
    }
}

impl<T, F> fmt::Debug for UserOp<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserOp")
            .field("commutative", &self.commutative)
            .finish_non_exhaustive()
    }
}

impl<T, F> sealed::Sealed for UserOp<T, F> {}

impl<T: Pod, F: Fn(T, T) -> T + Send + Sync> ReduceOp<T> for UserOp<T, F> {
    fn name(&self) -> &str {
        "user"
    }
    fn is_commutative(&self) -> bool {
        self.commutative
    }
    fn raw_left(&self, acc: &mut [T], rhs: &[T]) {
        for (a, &b) in acc.iter_mut().zip(rhs) {
            *a = (self.f)(*a, b);
        }
    }
    fn raw_right(&self, lhs: &[T], acc: &mut [T]) {
        for (&a, b) in lhs.iter().zip(acc.iter_mut()) {
            *b = (self.f)(a, *b);
        }
    }
    fn raw_into(&self, out: &mut [T], a: &[T], b: &[T]) {
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = (self.f)(x, y);
        }
    }
}

/// Elements per scratch chunk of [`UserSliceOp::combine_left`].
const SLICE_OP_CHUNK: usize = 1024;

/// A user-defined operator in the MPI vector style: `f(invec, inoutvec)` must set
/// `inoutvec[i] = invec[i] ⊕ inoutvec[i]` for every `i` (so `invec` is the left operand, the
/// lower ranks' partial result). It may be called on any sub-range of the data.
pub struct UserSliceOp<T, F> {
    f: F,
    commutative: bool,
    _elem: PhantomData<fn(T, T) -> T>,
}

impl<T: Pod, F: Fn(&[T], &mut [T]) + Send + Sync> UserSliceOp<T, F> {
    /// A non-commutative operator.
    pub fn new(f: F) -> Self {
        UserSliceOp {
            f,
            commutative: false,
            _elem: PhantomData,
        }
    }

    /// A commutative operator.
    pub fn commutative(f: F) -> Self {
        UserSliceOp {
            f,
            commutative: true,
            _elem: PhantomData,
        }
    }
}

impl<T, F> fmt::Debug for UserSliceOp<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserSliceOp")
            .field("commutative", &self.commutative)
            .finish_non_exhaustive()
    }
}

impl<T, F> sealed::Sealed for UserSliceOp<T, F> {}

impl<T: Pod, F: Fn(&[T], &mut [T]) + Send + Sync> ReduceOp<T> for UserSliceOp<T, F> {
    fn name(&self) -> &str {
        "user"
    }
    fn is_commutative(&self) -> bool {
        self.commutative
    }
    fn raw_left(&self, acc: &mut [T], rhs: &[T]) {
        // acc ⊕ rhs with acc as the left operand: f(acc, tmp := rhs) leaves the result in tmp.
        let mut tmp: Vec<T> = Vec::with_capacity(acc.len().min(SLICE_OP_CHUNK));
        for (a, r) in acc
            .chunks_mut(SLICE_OP_CHUNK)
            .zip(rhs.chunks(SLICE_OP_CHUNK))
        {
            tmp.clear();
            tmp.extend_from_slice(r);
            (self.f)(a, &mut tmp);
            a.copy_from_slice(&tmp);
        }
    }
    fn raw_right(&self, lhs: &[T], acc: &mut [T]) {
        (self.f)(lhs, acc)
    }
    fn raw_into(&self, out: &mut [T], a: &[T], b: &[T]) {
        out.copy_from_slice(b);
        (self.f)(a, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn left<T: Pod, O: ReduceOp<T>>(op: &O, a: &[T], b: &[T]) -> Vec<T> {
        let mut acc = a.to_vec();
        op.combine_left(&mut acc, b).unwrap();
        acc
    }

    /// Checks that the three kernels and a two-input fold agree with `expected` for `a ⊕ b`.
    fn check_all_forms<T: Pod + PartialEq + fmt::Debug, O: ReduceOp<T>>(
        op: &O,
        a: &[T],
        b: &[T],
        expected: &[T],
    ) {
        assert_eq!(left(op, a, b), expected, "combine_left");
        let mut acc = b.to_vec();
        op.combine_right(a, &mut acc).unwrap();
        assert_eq!(acc, expected, "combine_right");
        let mut out = vec![a[0]; a.len()];
        op.combine_into(&mut out, a, b).unwrap();
        assert_eq!(out, expected, "combine_into");
        let mut out = vec![a[0]; a.len()];
        op.fold(&mut out, &[a, b]).unwrap();
        assert_eq!(out, expected, "fold");
    }

    #[test]
    fn integer_sum_and_prod_wrap() {
        check_all_forms(&Sum, &[250u8, 1, 0], &[10u8, 2, 0], &[4, 3, 0]);
        check_all_forms(
            &Sum,
            &[i8::MAX, -128, -1],
            &[1i8, -1, 1],
            &[i8::MIN, 127, 0],
        );
        check_all_forms(
            &Sum,
            &[u64::MAX, 5],
            &[2u64, u64::MAX - 4],
            &[1, 0], // 2^64 - 1 + 2 and 5 + 2^64 - 5, both mod 2^64
        );
        check_all_forms(&Prod, &[16u8, 3], &[16u8, 5], &[0, 15]);
        check_all_forms(&Prod, &[i32::MAX, -7], &[2i32, 6], &[-2, -42]);
        check_all_forms(
            &Prod,
            &[1i128 << 100, -3],
            &[1i128 << 30, 5],
            &[0, -15], // 2^130 mod 2^128 = 0
        );
    }

    #[test]
    fn integer_min_max() {
        check_all_forms(&Min, &[5i16, -3, 7], &[-9i16, 4, 7], &[-9, -3, 7]);
        check_all_forms(&Max, &[5i16, -3, 7], &[-9i16, 4, 7], &[5, 4, 7]);
        check_all_forms(
            &Min,
            &[usize::MAX, 0],
            &[usize::MAX - 1, 1],
            &[usize::MAX - 1, 0],
        );
        check_all_forms(&Max, &[u128::MAX, 0], &[1u128, 0], &[u128::MAX, 0]);
    }

    #[test]
    fn bitwise_ops() {
        check_all_forms(&Band, &[0b1100u8, 0xff], &[0b1010u8, 0x0f], &[0b1000, 0x0f]);
        check_all_forms(&Bor, &[0b1100u8, 0xf0], &[0b1010u8, 0x0f], &[0b1110, 0xff]);
        check_all_forms(&Bxor, &[0b1100u8, 0xff], &[0b1010u8, 0xff], &[0b0110, 0]);
        // Signed values: two's complement bits.
        check_all_forms(&Band, &[-1i32, -2], &[0x1234i32, 3], &[0x1234, 2]);
        check_all_forms(&Bor, &[i64::MIN, 1], &[1i64, -2], &[i64::MIN + 1, -1]);
        check_all_forms(&Bxor, &[-1i8, 0x55], &[0x0fi8, 0x55], &[-16, 0]);
    }

    #[test]
    fn logical_ops_have_c_semantics() {
        // Non-zero is true (including negative and large values); results are 1 or 0.
        check_all_forms(
            &Land,
            &[0i32, 0, 7, -3, i32::MIN],
            &[0i32, 5, 0, 9, -1],
            &[0, 0, 0, 1, 1],
        );
        check_all_forms(
            &Lor,
            &[0i32, 0, 7, -3, i32::MIN],
            &[0i32, 5, 0, 9, -1],
            &[0, 1, 1, 1, 1],
        );
        check_all_forms(&Land, &[200u8, 0], &[2u8, 0], &[1, 0]);
        check_all_forms(&Lor, &[0u64, 1 << 63], &[0u64, 0], &[0, 1]);
    }

    #[test]
    fn float_sum_prod_are_ieee_and_order_preserving() {
        check_all_forms(&Sum, &[1.5f64, -0.0], &[2.25f64, 0.0], &[3.75, 0.0]);
        check_all_forms(&Prod, &[1.5f32, -2.0], &[4.0f32, 0.5], &[6.0, -1.0]);
        // Non-associativity is visible: fold order is left to right.
        let big = [1e16f64];
        let one = [1.0f64];
        let neg = [-1e16f64];
        let mut out = [0.0f64];
        Sum.fold(&mut out, &[&big, &one, &neg]).unwrap();
        assert_eq!(out, [0.0]); // (1e16 + 1) rounds to 1e16, then - 1e16
        Sum.fold(&mut out, &[&big, &neg, &one]).unwrap();
        assert_eq!(out, [1.0]);
    }

    #[test]
    fn float_min_max_propagate_nan_and_keep_left_on_ties() {
        let nan = f64::NAN;
        let a = [1.0f64, nan, 2.0, 0.0, -0.0, nan];
        let b = [2.0f64, 3.0, nan, -0.0, 0.0, -nan];
        let min = left(&Min, &a, &b);
        assert_eq!(min[0], 1.0);
        assert!(min[1].is_nan() && min[2].is_nan());
        // Equal values: the left operand, bit for bit.
        assert_eq!(min[3].to_bits(), 0.0f64.to_bits());
        assert_eq!(min[4].to_bits(), (-0.0f64).to_bits());
        // Both NaN: the left NaN's bits.
        assert_eq!(min[5].to_bits(), nan.to_bits());
        let max = left(&Max, &a, &b);
        assert_eq!(max[0], 2.0);
        assert!(max[1].is_nan() && max[2].is_nan());
        assert_eq!(max[3].to_bits(), 0.0f64.to_bits());
        assert_eq!(max[4].to_bits(), (-0.0f64).to_bits());
        let mut acc = [3.0f32, f32::INFINITY];
        Min.combine_left(&mut acc, &[f32::NEG_INFINITY, 4.0])
            .unwrap();
        assert_eq!(acc, [f32::NEG_INFINITY, 4.0]);
    }

    #[test]
    fn predefined_matches_static_ops_for_every_kind() {
        fn check<T: Element + Arith>(a: &[T], b: &[T]) {
            for kind in OpKind::ALL {
                let dynop = match Predefined::<T>::new(kind) {
                    Ok(op) => op,
                    Err(e) => {
                        assert_eq!(T::KIND, ElemKind::Float);
                        assert!(kind.integer_only());
                        assert!(!T::supports(kind));
                        assert_eq!(
                            e,
                            OpError::Unsupported {
                                op: kind,
                                ty: T::TYPE_NAME
                            }
                        );
                        continue;
                    }
                };
                assert!(T::supports(kind));
                assert_eq!(dynop.kind(), kind);
                assert_eq!(dynop.name(), kind.name());
                if kind.integer_only() {
                    continue; // checked below against hand-computed values
                }
                let expected: Vec<T> = a
                    .iter()
                    .zip(b)
                    .map(|(&x, &y)| match kind {
                        OpKind::Sum => T::op_sum(x, y),
                        OpKind::Prod => T::op_prod(x, y),
                        OpKind::Min => T::op_min(x, y),
                        OpKind::Max => T::op_max(x, y),
                        _ => unreachable!("integer-only kinds are checked separately"),
                    })
                    .collect();
                check_all_forms(&dynop, a, b, &expected);
            }
        }
        check::<u8>(&[1, 200, 7], &[3, 100, 0]);
        check::<i64>(&[-5, i64::MAX, 0], &[7, 1, 0]);
        check::<f32>(&[0.5, -1.0, 3.0], &[0.25, 8.0, -3.0]);
        check::<f64>(&[0.5, -1.0, 3.0], &[0.25, 8.0, -3.0]);

        // Integer-only kinds through Predefined agree with the static operators.
        let a = [0b1100u32, 0, 9];
        let b = [0b1010u32, 3, 0];
        let pairs: [(OpKind, [u32; 3]); 5] = [
            (OpKind::Band, [0b1000, 0, 0]),
            (OpKind::Bor, [0b1110, 3, 9]),
            (OpKind::Bxor, [0b0110, 3, 9]),
            (OpKind::Land, [1, 0, 0]),
            (OpKind::Lor, [1, 1, 1]),
        ];
        for (kind, expected) in pairs {
            let op = Predefined::<u32>::new(kind).unwrap();
            check_all_forms(&op, &a, &b, &expected);
        }
    }

    #[test]
    fn op_kind_names_parse_and_display() {
        for kind in OpKind::ALL {
            assert_eq!(kind.name().parse::<OpKind>().unwrap(), kind);
            assert_eq!(kind.to_string(), kind.name());
            assert_eq!(kind.name().to_uppercase().parse::<OpKind>().unwrap(), kind);
        }
        assert_eq!(
            "average".parse::<OpKind>(),
            Err(OpError::UnknownOp("average".into()))
        );
        assert_eq!(OpKind::ALL.iter().filter(|k| k.integer_only()).count(), 5);
        assert!(
            OpError::Unsupported {
                op: OpKind::Band,
                ty: "f64"
            }
            .to_string()
            .contains("`band` is not defined for element type `f64`")
        );
    }

    #[test]
    fn length_mismatch_is_an_error_not_a_panic() {
        let mut acc = [1u32, 2, 3];
        assert_eq!(
            Sum.combine_left(&mut acc, &[1, 2]),
            Err(OpError::LengthMismatch {
                what: "rhs",
                expected: 3,
                found: 2
            })
        );
        assert_eq!(acc, [1, 2, 3], "nothing written on error");
        assert_eq!(
            Sum.combine_right(&[1u32; 4], &mut acc),
            Err(OpError::LengthMismatch {
                what: "lhs",
                expected: 3,
                found: 4
            })
        );
        let mut out = [0u32; 3];
        assert_eq!(
            Sum.combine_into(&mut out, &[1, 2, 3], &[1]),
            Err(OpError::LengthMismatch {
                what: "b",
                expected: 3,
                found: 1
            })
        );
        assert_eq!(
            Max.fold(&mut out, &[&[1u32, 2, 3][..], &[1, 2][..]]),
            Err(OpError::LengthMismatch {
                what: "fold input",
                expected: 3,
                found: 2
            })
        );
        assert_eq!(Sum.fold(&mut out, &[]), Err(OpError::EmptyFold));
        // Zero-length slices are fine.
        let mut empty: [f64; 0] = [];
        Sum.combine_left(&mut empty, &[]).unwrap();
        Sum.fold(&mut empty, &[&[], &[], &[]]).unwrap();
    }

    #[test]
    fn fold_is_a_left_fold_across_block_boundaries() {
        // More elements than one fold block (8 KiB / 8 B = 1024), odd count, five inputs.
        let n = 3 * 1024 + 5;
        let inputs: Vec<Vec<i64>> = (0..5)
            .map(|r| (0..n as i64).map(|i| i * 10 + r).collect())
            .collect();
        let refs: Vec<&[i64]> = inputs.iter().map(|v| v.as_slice()).collect();
        let mut out = vec![0i64; n];
        Sum.fold(&mut out, &refs).unwrap();
        for (i, &o) in out.iter().enumerate() {
            assert_eq!(o, 50 * i as i64 + 10);
        }
        // A non-commutative, non-associative operator reveals the evaluation order:
        // f(a, b) = 2a + b gives ((((x0·2 + x1)·2 + x2)·2 + x3)·2 + x4) for a left fold.
        let op = UserOp::new(|a: i64, b: i64| 2 * a + b);
        op.fold(&mut out, &refs).unwrap();
        for (i, &o) in out.iter().enumerate() {
            let x = |r: i64| i as i64 * 10 + r;
            assert_eq!(o, (((x(0) * 2 + x(1)) * 2 + x(2)) * 2 + x(3)) * 2 + x(4));
        }
        // A single input is copied.
        op.fold(&mut out, &refs[2..3]).unwrap();
        assert_eq!(out, inputs[2]);
    }

    #[test]
    fn user_ops_respect_operand_order() {
        // f(a, b) = a - b is neither commutative nor associative.
        let sub = UserOp::new(|a: i32, b: i32| a - b);
        assert!(!sub.is_commutative());
        check_all_forms(&sub, &[10, 0], &[3, 5], &[7, -5]);
        let sub_slice = UserSliceOp::new(|inv: &[i32], inout: &mut [i32]| {
            for (io, &i) in inout.iter_mut().zip(inv) {
                *io = i - *io;
            }
        });
        assert!(!sub_slice.is_commutative());
        assert_eq!(sub_slice.name(), "user");
        check_all_forms(&sub_slice, &[10, 0], &[3, 5], &[7, -5]);
        // Longer than the slice-op scratch chunk.
        let n = 2 * SLICE_OP_CHUNK + 3;
        let a: Vec<i32> = (0..n as i32).map(|i| i * 3).collect();
        let b: Vec<i32> = (0..n as i32).collect();
        let expected: Vec<i32> = (0..n as i32).map(|i| 2 * i).collect();
        check_all_forms(&sub_slice, &a, &b, &expected);
        assert!(UserOp::commutative(|a: u8, b: u8| a.max(b)).is_commutative());
        assert!(UserSliceOp::commutative(|_: &[u8], _: &mut [u8]| {}).is_commutative());
    }

    #[test]
    fn user_op_on_a_pod_struct() {
        // MINLOC-style: (value, index), smallest value wins, ties keep the lower index.
        #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
        #[repr(C)]
        struct ValIdx {
            val: f64,
            idx: u64,
        }
        let minloc = UserOp::commutative(|a: ValIdx, b: ValIdx| {
            if b.val < a.val || (b.val == a.val && b.idx < a.idx) {
                b
            } else {
                a
            }
        });
        let v = |val, idx| ValIdx { val, idx };
        let inputs = [
            [v(3.0, 0), v(1.0, 0)],
            [v(2.0, 1), v(1.0, 1)],
            [v(2.0, 2), v(5.0, 2)],
        ];
        let refs: Vec<&[ValIdx]> = inputs.iter().map(|x| &x[..]).collect();
        let mut out = [v(0.0, 9); 2];
        minloc.fold(&mut out, &refs).unwrap();
        assert_eq!(out, [v(2.0, 1), v(1.0, 0)]);
    }

    #[test]
    #[allow(clippy::needless_borrows_for_generic_args)] // the point is passing references
    fn references_to_ops_are_ops() {
        fn apply<O: ReduceOp<u16>>(op: O) -> Vec<u16> {
            left(&op, &[1, 2], &[3, 4])
        }
        assert_eq!(apply(&Sum), [4, 6]);
        assert_eq!(apply(&&Prod), [3, 8]);
        assert_eq!(Sum::KIND, OpKind::Sum);
        assert_eq!(Lor::KIND, OpKind::Lor);
        assert!(ReduceOp::<u16>::is_commutative(&&Max));
    }
}
