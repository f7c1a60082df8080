// lumamba/model/kernels/spectrum_features_cpu.h — magnitude and phase of per-patch spectra, the
// frequency features of the LUNA front end (docs/reference-model.md §3.2), on raw float/double buffers.
//
// Torch-free on purpose (own CMake target, vectorising flags): LibTorch 1.13 computes the phase of
// a strided real/imag view with scalar libm atan2f, which was ~80 % of fft_features at batch 64
// (docs/performance.md). The caller (luna.cpp) runs the FFT and hands the spectrum over.
#pragma once

#include <cstdint>

namespace lumamba::model::kernels {

/// spectrum: (rows, bins) complex values as interleaved (re, im) pairs, contiguous.
/// out: (rows, 2·bins) contiguous, [|X_k| for k < bins, angle(X_k) for k < bins] per row.
/// The phase treats the imaginary part of bin 0 — and of bin bins−1 when `last_bin_is_real`
/// (Nyquist of an even-length real FFT) — as +0, as the reference's CPU FFT produces (fft_features in
/// luna.cpp). |X| = sqrt(re² + im²) like LibTorch's complex abs; the phase is atan2(im, re) with
/// std::atan2's signed-zero and quadrant rules, within 2 ulp for float (double calls std::atan2).
template <typename T>
void spectrum_magnitude_phase(const T* spectrum, int64_t rows, int64_t bins, bool last_bin_is_real, T* out);

}  // namespace lumamba::model::kernels
