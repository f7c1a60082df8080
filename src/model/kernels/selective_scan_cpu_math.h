// selective_scan_cpu_math.h — branch-free lane math of the fused selective scan (exp, log1p,
// softplus, σ), private to selective_scan_cpu.cpp. NO include guard on purpose: included once per
// instruction set, inside a namespace and under `#pragma GCC target(...)`, just before
// selective_scan_cpu_impl.h. Written as scalar functions whose selects GCC if-converts, so loops
// calling them vectorise (-fno-trapping-math); no libm calls. References: Cephes expf, fdlibm /
// FreeBSD log1p and logf coefficients; torch's softplus (beta 1, threshold 20) and its backward.

// ------------------------------------------------------------------------------- lane math
inline std::uint32_t to_bits(float x) {
  std::uint32_t i;
  std::memcpy(&i, &x, sizeof i);
  return i;
}
inline float from_bits(std::uint32_t i) {
  float x;
  std::memcpy(&x, &i, sizeof x);
  return x;
}
inline std::uint64_t to_bits(double x) {
  std::uint64_t i;
  std::memcpy(&i, &x, sizeof i);
  return i;
}
inline double from_bits(std::uint64_t i) {
  double x;
  std::memcpy(&x, &i, sizeof x);
  return x;
}

// exp(x) by x = n·ln2 + r, |r| <= ln2/2, e^r by polynomial, 2^n built in the exponent bits. n is
// rounded with the 1.5·2^mantissa "magic" addition (no SSE4.1 round needed; valid because we never
// build with -ffast-math). float: Cephes expf polynomial (≤ 1 ulp measured on [-87, 88]); double:
// Taylor to r^13 (truncation 4e-18, ≤ 2.3e-16 relative measured). Edges: below kLo the result is
// e^kLo (1.2e-38 float, 2.5e-308 double; never a denormal) instead of the exact tiny value; float
// returns +inf from x ≈ 88.38 (n = 128; FLT_MAX is e^88.72), double saturates at e^709; NaN
// propagates; float +inf gives NaN. The scan's arguments (Δ·A ≤ 0, -|x|) never reach those edges.
[[gnu::always_inline]] inline float exp_lane(float x) {
  constexpr float kLo = -87.33654f;
  constexpr float kLog2e = 1.44269504088896341f, kMagic = 12582912.0f;  // 1.5·2^23
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  // Lower clamp as one compare+select; the upper bound is applied to the integer exponent (one
  // vpminsd): GCC vectorises std::min/max on floats as compare+blend pairs (IEEE NaN/−0 rules).
  const float xc = x < kLo ? kLo : x;
  const float t = xc * kLog2e + kMagic;
  const float n = t - kMagic;
  const std::int32_t ni = std::min(static_cast<std::int32_t>(to_bits(t) - to_bits(kMagic)), std::int32_t{128});
  float r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  return p * from_bits(static_cast<std::uint32_t>(ni + 127) << 23);
}

[[gnu::always_inline]] inline double exp_lane(double x) {
  constexpr double kLo = -708.3964185322641, kHi = 709.0;
  constexpr double kLog2e = 1.4426950408889634074, kMagic = 6755399441055744.0;  // 1.5·2^52
  constexpr double kLn2Hi = 6.93145751953125e-1, kLn2Lo = 1.42860682030941723212e-6;
  const double xc = std::min(std::max(x, kLo), kHi);
  const double t = xc * kLog2e + kMagic;
  const double n = t - kMagic;
  const std::uint64_t ni = to_bits(t) - to_bits(kMagic);
  double r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * (r * r) + r + 1.0;
  return p * from_bits((ni + 1023u) << 52);
}

// log(1 + e) for e in [0, 1] (the softplus tail), fdlibm/FreeBSD log1p scheme: w = 1 + e rounded,
// the rounding error restored by (e - (w - 1)) / w; log w = k·ln2 + log(1 + f) with m = w or w/2
// in [√2/2, √2], s = f / (2 + f), log(1 + f) = f - (f²/2 - s·(f²/2 + R(s²))). The caller passes
// rw = 1/(1 + e), which softplus shares with its derivative σ.
[[gnu::always_inline]] inline float log1p_unit(float e, float rw) {
  constexpr float kLg1 = 0.66666662693f, kLg2 = 0.40000972152f, kLg3 = 0.28498786688f, kLg4 = 0.24279078841f;
  constexpr float kLn2Hi = 6.9313812256e-01f, kLn2Lo = 9.0580006145e-06f, kSqrt2 = 1.41421356f;
  const float w = 1.0f + e;
  const float corr = (e - (w - 1.0f)) * rw;
  const bool big = w > kSqrt2;
  const float f = (big ? 0.5f * w : w) - 1.0f;
  const float k = big ? 1.0f : 0.0f;
  const float s = f / (2.0f + f);
  const float z = s * s, z2 = z * z;
  const float rr = z2 * (kLg2 + z2 * kLg4) + z * (kLg1 + z2 * kLg3);
  const float hfsq = 0.5f * f * f;
  return k * kLn2Hi + ((f - (hfsq - s * (hfsq + rr))) + (k * kLn2Lo + corr));
}

[[gnu::always_inline]] inline double log1p_unit(double e, double rw) {
  constexpr double kLg1 = 6.666666666666735130e-01, kLg2 = 3.999999999940941908e-01,
                   kLg3 = 2.857142874366239149e-01, kLg4 = 2.222219843214978396e-01,
                   kLg5 = 1.818357216161805012e-01, kLg6 = 1.531383769920937332e-01,
                   kLg7 = 1.479819860511658591e-01;
  constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kSqrt2 = 1.41421356237309504880;
  const double w = 1.0 + e;
  const double corr = (e - (w - 1.0)) * rw;
  const bool big = w > kSqrt2;
  const double f = (big ? 0.5 * w : w) - 1.0;
  const double k = big ? 1.0 : 0.0;
  const double s = f / (2.0 + f);
  const double z = s * s, z2 = z * z;
  const double t1 = z2 * (kLg2 + z2 * (kLg4 + z2 * kLg6));
  const double t2 = z * (kLg1 + z2 * (kLg3 + z2 * (kLg5 + z2 * kLg7)));
  const double hfsq = 0.5 * f * f;
  return k * kLn2Hi + ((f - (hfsq - s * (hfsq + (t1 + t2)))) + (k * kLn2Lo + corr));
}

/// torch.nn.functional.softplus(x) (beta 1, threshold 20): x above 20, else log1p(exp(x)),
/// written as max(x, 0) + log1p(exp(-|x|)) so nothing overflows.
template <typename T>
[[gnu::always_inline]] inline T softplus_lane(T x) {
  const T e = exp_lane(-std::fabs(x));
  const T sp = std::max(x, T(0)) + log1p_unit(e, T(1) / (T(1) + e));
  return x > T(20) ? x : sp;
}

/// softplus(x) and its derivative as torch computes it (1 above the threshold, else σ(x)), sharing
/// e = exp(-|x|) and 1/(1+e).
template <typename T>
[[gnu::always_inline]] inline void softplus_and_grad_lane(T x, T& sp, T& grad) {
  const T e = exp_lane(-std::fabs(x));
  const T rw = T(1) / (T(1) + e);
  const T s = std::max(x, T(0)) + log1p_unit(e, rw);
  const T sig = x >= T(0) ? rw : e * rw;
  sp = x > T(20) ? x : s;
  grad = x > T(20) ? T(1) : sig;
}

/// σ(x) without overflow: e = exp(-|x|), σ = 1/(1+e) for x >= 0 and e/(1+e) otherwise.
template <typename T>
[[gnu::always_inline]] inline T sigmoid_lane(T x) {
  const T e = exp_lane(-std::fabs(x));
  const T r = T(1) / (T(1) + e);
  return x >= T(0) ? r : e * r;
}

