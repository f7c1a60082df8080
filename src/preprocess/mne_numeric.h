// Private: the NumPy / MNE 1.3 numeric conventions our filters must reproduce exactly.
//
// round() in NumPy and Python rounds half to even; np.sum adds in pairwise blocks (of 8192
// elements, as the ufunc reduction's buffer) — both change the last bits of MNE's taps and
// lengths if done otherwise. _smart_pad is mne.cuda._smart_pad(pad='reflect_limited').
#pragma once

#include <cstddef>
#include <vector>

namespace lumamba::preprocess::detail {

/// Python/NumPy round(): nearest integer, ties to even (std::nearbyint in the default mode).
double round_half_even(double x);

/// np.sum(a[0..n)) for a contiguous float64 array, bit for bit (blocked pairwise summation).
double numpy_sum(const double* a, std::size_t n);

/// mne.filter.next_fast_len: smallest 2^a·3^b·5^c >= target (target itself if <= 6).
std::size_t next_fast_len(std::size_t target);

/// Smallest power of two >= n (n >= 1).
std::size_t next_pow2(std::size_t n);

/// mne.cuda._smart_pad(x, (pad_left, pad_right), 'reflect_limited'): odd reflection about the
/// end samples (2·x[0] − x[k]), limited to n − 1 samples per side, then zeros further out.
/// Writes pad_left + n + pad_right samples to out.
void smart_pad_reflect_limited(const double* x, std::size_t n, std::size_t pad_left,
                               std::size_t pad_right, double* out);

}  // namespace lumamba::preprocess::detail
