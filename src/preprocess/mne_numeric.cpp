// NumPy / MNE 1.3 numeric conventions (see mne_numeric.h).
//
// numpy_sum reproduces numpy/core/src/umath/loops_utils.h.src pairwise_sum (8-way unrolled
// blocks of <= 128, halving above) applied per 8192-element buffer chunk, which is how
// np.add.reduce walks a contiguous float64 array (checked against NumPy 1.24 for n up to 33001).
#include "mne_numeric.h"

#include <cfenv>
#include <cmath>

#include "lumamba/core/error.h"

namespace lumamba::preprocess::detail {
namespace {

constexpr std::size_t kPairwiseBlock = 128;   // NumPy PW_BLOCKSIZE
constexpr std::size_t kReduceBuffer = 8192;   // NumPy's default ufunc buffer size

double pairwise_sum(const double* a, std::size_t n) {
  if (n < 8) {
    double res = 0.;
    for (std::size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= kPairwiseBlock) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + static_cast<std::size_t>(j)];
    }
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

bool is_5_smooth(std::size_t n) {
  for (std::size_t p : {2u, 3u, 5u}) {
    while (n % p == 0) n /= p;
  }
  return n == 1;
}

}  // namespace

double round_half_even(double x) {
  LUMAMBA_CHECK(std::fegetround() == FE_TONEAREST, "floating-point rounding mode changed");
  return std::nearbyint(x);
}

double numpy_sum(const double* a, std::size_t n) {
  double res = 0.;
  for (std::size_t start = 0; start < n; start += kReduceBuffer) {
    const std::size_t len = (n - start < kReduceBuffer) ? n - start : kReduceBuffer;
    res += pairwise_sum(a + start, len);
  }
  return res;
}

std::size_t next_fast_len(std::size_t target) {
  // MNE's table + search returns the smallest 5-smooth number >= target; a direct scan is
  // equivalent and cheap (5-smooth numbers are dense at FFT sizes).
  if (target <= 6) return target;
  std::size_t n = target;
  while (!is_5_smooth(n)) ++n;
  return n;
}

std::size_t next_pow2(std::size_t n) {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

void smart_pad_reflect_limited(const double* x, std::size_t n, std::size_t pad_left,
                               std::size_t pad_right, double* out) {
  LUMAMBA_CHECK(n > 0, "smart_pad of an empty signal");
  // Left: zeros (pad_left − n + 1 of them when pad_left >= n), then 2·x[0] − x[k] for
  // k = min(pad_left, n − 1) … 1 (NumPy slice x[pad_left:0:-1] clips at n − 1).
  const std::size_t n_reflect_left = pad_left < n ? pad_left : n - 1;
  const std::size_t n_zero_left = pad_left - n_reflect_left;
  std::size_t o = 0;
  for (std::size_t i = 0; i < n_zero_left; ++i) out[o++] = 0.0;
  const double two_first = 2 * x[0];
  for (std::size_t k = n_reflect_left; k >= 1; --k) out[o++] = two_first - x[k];
  for (std::size_t i = 0; i < n; ++i) out[o++] = x[i];
  // Right: 2·x[-1] − x[n−2], x[n−3], … (x[-2:-pad_right-2:-1], clipped at x[0]), then zeros.
  const std::size_t n_reflect_right = pad_right < n ? pad_right : n - 1;
  const std::size_t n_zero_right = pad_right - n_reflect_right;
  const double two_last = 2 * x[n - 1];
  for (std::size_t k = 0; k < n_reflect_right; ++k) out[o++] = two_last - x[n - 2 - k];
  for (std::size_t i = 0; i < n_zero_right; ++i) out[o++] = 0.0;
}

}  // namespace lumamba::preprocess::detail
