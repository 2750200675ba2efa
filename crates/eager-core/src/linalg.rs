//! Single-precision matrix products on plain slices (the `gemm` crate behind a checked, safe
//! wrapper), for kernels that work outside candle's tensors.

/// Whether one product may use rayon's threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parallel {
    /// Split over rayon's threads when the product is large enough to pay for it.
    Auto,
    /// Single-threaded (the caller already runs in a parallel task).
    No,
}

/// `gemm`'s parallelism for an `[m, k] · [k, n]` product: rayon's threads from 4 MFLOP up.
pub(crate) fn parallelism(m: usize, n: usize, k: usize) -> gemm::Parallelism {
    let threads = rayon::current_num_threads().max(1);
    if 2 * m * n * k >= 4_000_000 && threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    }
}

/// `dst [m, n] (+)= lhs [m, k] · rhs [k, n]` with explicit strides (row stride, column stride).
/// Checks that every addressed element lies inside its slice before calling into `gemm`, so
/// callers need no `unsafe`. `par`: [`Parallel::Auto`] splits large products over rayon's
/// threads; [`Parallel::No`] for calls already inside a parallel task.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sgemm(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    (d_rs, d_cs): (usize, usize),
    accumulate: bool,
    lhs: &[f32],
    (l_rs, l_cs): (usize, usize),
    rhs: &[f32],
    (r_rs, r_cs): (usize, usize),
    par: Parallel,
) -> candle_core::Result<()> {
    if m == 0 || n == 0 || k == 0 {
        return Ok(()); // nothing to add (dst is zero-initialised by the callers)
    }
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    if last(m, n, d_rs, d_cs) >= dst.len() || last(m, k, l_rs, l_cs) >= lhs.len() || last(k, n, r_rs, r_cs) >= rhs.len()
    {
        candle_core::bail!("sgemm [{m}, {n}, {k}]: strides address elements outside the buffers");
    }
    let par = match par {
        Parallel::Auto => parallelism(m, n, k),
        Parallel::No => gemm::Parallelism::None,
    };
    // SAFETY: every (row, column) the strides address lies inside its slice (checked above);
    // dst = alpha·dst + beta·lhs·rhs, dst read only when accumulating.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            d_cs as isize,
            d_rs as isize,
            accumulate,
            lhs.as_ptr(),
            l_cs as isize,
            l_rs as isize,
            rhs.as_ptr(),
            r_cs as isize,
            r_rs as isize,
            if accumulate { 1.0f32 } else { 0.0f32 },
            1.0f32,
            false,
            false,
            false,
            par,
        );
    }
    Ok(())
}
