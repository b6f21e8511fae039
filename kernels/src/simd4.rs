//! Four f32 lanes for the engine's kernels ([`crate::conv_kernel`], [`crate::winograd`]):
//! wasm `v128` where the build has simd128, else an array the compiler vectorises for the
//! host. Every function is `#[inline(always)]`: the wasm profile's opt-level "s" would
//! otherwise leave calls in the kernels' inner loops.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use wasm::*;

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub use portable::*;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm {
    use std::arch::wasm32::*;

    pub type V = v128;

    #[inline(always)]
    pub fn splat(x: f32) -> V {
        f32x4_splat(x)
    }

    /// # Safety
    /// 16 readable bytes at `p`; no alignment is required.
    #[inline(always)]
    pub unsafe fn load(p: *const f32) -> V {
        // SAFETY: the caller's contract.
        unsafe { v128_load(p.cast()) }
    }

    /// # Safety
    /// 4 readable bytes at `p`.
    #[inline(always)]
    pub unsafe fn splat_load(p: *const f32) -> V {
        // SAFETY: the caller's contract.
        unsafe { v128_load32_splat(p.cast()) }
    }

    /// # Safety
    /// 16 writable bytes at `p`; no alignment is required.
    #[inline(always)]
    pub unsafe fn store(p: *mut f32, v: V) {
        // SAFETY: the caller's contract.
        unsafe { v128_store(p.cast(), v) }
    }

    /// `acc + a·b`, fused where the build allows relaxed SIMD (V8: `vfmadd231ps`).
    #[inline(always)]
    pub fn madd(acc: V, a: V, b: V) -> V {
        #[cfg(target_feature = "relaxed-simd")]
        return f32x4_relaxed_madd(a, b, acc);
        #[cfg(not(target_feature = "relaxed-simd"))]
        return f32x4_add(acc, f32x4_mul(a, b));
    }

    #[inline(always)]
    pub fn add(a: V, b: V) -> V {
        f32x4_add(a, b)
    }

    #[inline(always)]
    pub fn sub(a: V, b: V) -> V {
        f32x4_sub(a, b)
    }

    /// `min(max(v, lo), hi)` lane by lane (`pmax`/`pmin`: one instruction each on x86).
    #[inline(always)]
    pub fn clamp(v: V, lo: V, hi: V) -> V {
        f32x4_pmin(f32x4_pmax(v, lo), hi)
    }

    /// Lanes 0, 2 of `a` then 0, 2 of `b`: the even elements of eight in a row.
    #[inline(always)]
    pub fn even(a: V, b: V) -> V {
        i32x4_shuffle::<0, 2, 4, 6>(a, b)
    }

    /// The odd elements of eight in a row.
    #[inline(always)]
    pub fn odd(a: V, b: V) -> V {
        i32x4_shuffle::<1, 3, 5, 7>(a, b)
    }

    /// `a0 b0 a1 b1`.
    #[inline(always)]
    pub fn zip_low(a: V, b: V) -> V {
        i32x4_shuffle::<0, 4, 1, 5>(a, b)
    }

    /// `a2 b2 a3 b3`.
    #[inline(always)]
    pub fn zip_high(a: V, b: V) -> V {
        i32x4_shuffle::<2, 6, 3, 7>(a, b)
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod portable {
    pub type V = [f32; 4];

    #[inline(always)]
    pub fn splat(x: f32) -> V {
        [x; 4]
    }

    /// # Safety
    /// 16 readable bytes at `p`.
    #[inline(always)]
    pub unsafe fn load(p: *const f32) -> V {
        // SAFETY: the caller's contract.
        unsafe { p.cast::<V>().read_unaligned() }
    }

    /// # Safety
    /// 4 readable bytes at `p`.
    #[inline(always)]
    pub unsafe fn splat_load(p: *const f32) -> V {
        // SAFETY: the caller's contract.
        unsafe { [*p; 4] }
    }

    /// # Safety
    /// 16 writable bytes at `p`.
    #[inline(always)]
    pub unsafe fn store(p: *mut f32, v: V) {
        // SAFETY: the caller's contract.
        unsafe { p.cast::<V>().write_unaligned(v) }
    }

    #[inline(always)]
    pub fn madd(acc: V, a: V, b: V) -> V {
        std::array::from_fn(|i| acc[i] + a[i] * b[i])
    }

    #[inline(always)]
    pub fn add(a: V, b: V) -> V {
        std::array::from_fn(|i| a[i] + b[i])
    }

    #[inline(always)]
    pub fn sub(a: V, b: V) -> V {
        std::array::from_fn(|i| a[i] - b[i])
    }

    #[inline(always)]
    pub fn clamp(v: V, lo: V, hi: V) -> V {
        std::array::from_fn(|i| {
            let m = if v[i] < lo[i] { lo[i] } else { v[i] };
            if hi[i] < m { hi[i] } else { m }
        })
    }

    #[inline(always)]
    pub fn even(a: V, b: V) -> V {
        [a[0], a[2], b[0], b[2]]
    }

    #[inline(always)]
    pub fn odd(a: V, b: V) -> V {
        [a[1], a[3], b[1], b[3]]
    }

    #[inline(always)]
    pub fn zip_low(a: V, b: V) -> V {
        [a[0], b[0], a[1], b[1]]
    }

    #[inline(always)]
    pub fn zip_high(a: V, b: V) -> V {
        [a[2], b[2], a[3], b[3]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn lanes(v: V) -> [f32; 4] {
        let mut out = [0.0; 4];
        // SAFETY: 4 f32 = 16 writable bytes.
        unsafe { store(out.as_mut_ptr(), v) };
        out
    }

    #[test]
    fn shuffles_pick_the_lanes_their_names_say() {
        // SAFETY: 4 readable f32 each.
        let (a, b) = unsafe { (load([0.0, 1.0, 2.0, 3.0].as_ptr()), load([4.0, 5.0, 6.0, 7.0].as_ptr())) };
        assert_eq!(lanes(even(a, b)), [0.0, 2.0, 4.0, 6.0]);
        assert_eq!(lanes(odd(a, b)), [1.0, 3.0, 5.0, 7.0]);
        assert_eq!(lanes(zip_low(a, b)), [0.0, 4.0, 1.0, 5.0]);
        assert_eq!(lanes(zip_high(a, b)), [2.0, 6.0, 3.0, 7.0]);
        assert_eq!(lanes(sub(madd(add(a, b), a, b), splat(1.0))), [3.0, 10.0, 19.0, 30.0]);
        assert_eq!(lanes(clamp(a, splat(1.0), splat(2.5))), [1.0, 1.0, 2.0, 2.5]);
    }
}
