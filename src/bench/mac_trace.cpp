// MACs counted from the operators a forward dispatches (lumamba/bench/mac_trace.h). A thread-local
// RecordFunction callback sees every dispatcher call on this thread with its inputs; the counted
// operators are leaves of the compute (matrix products, convolution, real FFT, the selective scan),
// and anything they dispatch internally (convolution's im2col + mm, the reference scan's products)
// is skipped through a depth counter, so each MAC is counted once at the op that owns it.
// Only this thread's dispatcher calls are seen: intra-op worker threads run kernels below the
// dispatcher, so the counted leaves are all dispatched here. Uses only RecordFunction API that
// LibTorch 1.13 and 2.x share (callback handles, needsInputs, name(), inputs()).
#include "lumamba/bench/mac_trace.h"

#include <ATen/record_function.h>
#include <torch/types.h>

#include <cstring>
#include <memory>

#include "lumamba/core/error.h"

namespace lumamba::bench {
namespace {

enum class Op { kNone, kMm, kAddmm, kBmm, kBaddbmm, kMv, kAddmv, kDot, kConvolution, kFftR2c, kSelectiveScan,
                kBatchedMatmul, kDepthwiseConv };

Op classify(const char* name) {
  // Most dispatched ops are not counted: one prefix test rejects them cheaply.
  if (std::strncmp(name, "aten::", 6) == 0) {
    const char* op = name + 6;
    if (std::strcmp(op, "mm") == 0) return Op::kMm;
    if (std::strcmp(op, "addmm") == 0) return Op::kAddmm;
    if (std::strcmp(op, "bmm") == 0) return Op::kBmm;
    if (std::strcmp(op, "baddbmm") == 0) return Op::kBaddbmm;
    if (std::strcmp(op, "mv") == 0) return Op::kMv;
    if (std::strcmp(op, "addmv") == 0) return Op::kAddmv;
    if (std::strcmp(op, "dot") == 0) return Op::kDot;
    if (std::strcmp(op, "convolution") == 0) return Op::kConvolution;
    if (std::strcmp(op, "_fft_r2c") == 0) return Op::kFftR2c;
    return Op::kNone;
  }
  if (std::strcmp(name, "lumamba::selective_scan") == 0) return Op::kSelectiveScan;
  if (std::strcmp(name, "lumamba::batched_matmul") == 0) return Op::kBatchedMatmul;
  if (std::strcmp(name, "lumamba::depthwise_conv") == 0) return Op::kDepthwiseConv;
  return Op::kNone;
}

const at::Tensor& tensor_arg(c10::ArrayRef<const c10::IValue> in, size_t i, const char* name) {
  LUMAMBA_CHECK(i < in.size() && in[i].isTensor(), "mac trace: {} input {} is not a tensor", name, i);
  return in[i].toTensor();
}

std::vector<int64_t> int_list_arg(const c10::IValue& v) {
  // LibTorch 2.x boxes a SymInt[] argument of concrete sizes as an int list too.
  return v.toIntVector();
}

// Output spatial sizes × in_channels/groups × kernel elements, per output channel and batch.
int64_t convolution_macs(c10::ArrayRef<const c10::IValue> in) {
  // convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)
  const auto& x = tensor_arg(in, 0, "convolution");
  const auto& w = tensor_arg(in, 1, "convolution");
  const auto stride = int_list_arg(in[3]), padding = int_list_arg(in[4]), dilation = int_list_arg(in[5]);
  const bool transposed = in[6].toBool();
  const int64_t spatial = x.dim() - 2;
  // A one-element list applies to every spatial dim.
  auto pick = [](const std::vector<int64_t>& v, int64_t i) { return v.size() == 1 ? v[0] : v[static_cast<size_t>(i)]; };
  int64_t kernel = 1;
  for (int64_t i = 0; i < spatial; ++i) kernel *= w.size(2 + i);
  if (transposed) {
    // Each input element scatters into out_channels/groups × kernel outputs.
    return x.numel() * (w.size(1)) * kernel;  // w: (C_in, C_out/groups, k...)
  }
  int64_t out = x.size(0) * w.size(0);  // batch × out_channels
  for (int64_t i = 0; i < spatial; ++i) {
    const int64_t k = w.size(2 + i);
    out *= (x.size(2 + i) + 2 * pick(padding, i) - pick(dilation, i) * (k - 1) - 1) / pick(stride, i) + 1;
  }
  return out * w.size(1) * kernel;  // w: (C_out, C_in/groups, k...)
}

int64_t fft_r2c_macs(c10::ArrayRef<const c10::IValue> in) {
  // _fft_r2c(self, dim, normalization, onesided): the direct real DFT, 2·n·(n/2+1) per transform.
  const auto& x = tensor_arg(in, 0, "_fft_r2c");
  const auto dims = int_list_arg(in[1]);
  LUMAMBA_CHECK(dims.size() == 1, "mac trace: only 1-D real FFTs are counted, got {} dims", dims.size());
  const int64_t n = x.size(dims[0]);
  if (n == 0) return 0;
  return (x.numel() / n) * 2 * n * (n / 2 + 1);
}

int64_t selective_scan_macs(c10::ArrayRef<const c10::IValue> in) {
  // Recorded by selective_scan_with_state with (u, A, D): u (B, Di, L), A (Di, N), D (Di) or None.
  const auto& u = tensor_arg(in, 0, "lumamba::selective_scan");
  const auto& a = tensor_arg(in, 1, "lumamba::selective_scan");
  const bool has_d = in.size() > 2 && in[2].isTensor() && in[2].toTensor().defined();
  return 3 * u.numel() * a.size(1) + (has_d ? u.numel() : 0);
}

int64_t macs_of(Op op, c10::ArrayRef<const c10::IValue> in) {
  switch (op) {
    case Op::kMm: {  // (M, K) x (K, N)
      const auto& a = tensor_arg(in, 0, "mm");
      const auto& b = tensor_arg(in, 1, "mm");
      return a.size(0) * a.size(1) * b.size(1);
    }
    case Op::kAddmm: {  // self + (M, K) x (K, N)
      const auto& a = tensor_arg(in, 1, "addmm");
      const auto& b = tensor_arg(in, 2, "addmm");
      return a.size(0) * a.size(1) * b.size(1);
    }
    case Op::kBmm: {  // (Bt, M, K) x (Bt, K, N)
      const auto& a = tensor_arg(in, 0, "bmm");
      const auto& b = tensor_arg(in, 1, "bmm");
      return a.size(0) * a.size(1) * a.size(2) * b.size(2);
    }
    case Op::kBaddbmm: {
      const auto& a = tensor_arg(in, 1, "baddbmm");
      const auto& b = tensor_arg(in, 2, "baddbmm");
      return a.size(0) * a.size(1) * a.size(2) * b.size(2);
    }
    case Op::kMv: return tensor_arg(in, 0, "mv").numel();
    case Op::kAddmv: return tensor_arg(in, 1, "addmv").numel();
    case Op::kDot: return tensor_arg(in, 0, "dot").numel();
    case Op::kConvolution: return convolution_macs(in);
    case Op::kFftR2c: return fft_r2c_macs(in);
    case Op::kSelectiveScan: return selective_scan_macs(in);
    case Op::kBatchedMatmul: {  // (…, L, K) x (…, K, M) computed without a BLAS call (layers.cpp)
      const auto& a = tensor_arg(in, 0, "batched_matmul");
      const auto& b = tensor_arg(in, 1, "batched_matmul");
      return a.numel() * b.size(-1);
    }
    case Op::kDepthwiseConv: {  // (B, L, Di) input, (Di, 1, K) weight: K taps per output (mamba.cpp)
      const auto& x = tensor_arg(in, 0, "depthwise_conv");
      const auto& w = tensor_arg(in, 1, "depthwise_conv");
      return x.numel() * w.size(-1);
    }
    case Op::kNone: break;
  }
  return 0;
}

struct TraceState {
  TracedMacs* result = nullptr;
  int depth = 0;                     // counted ops currently open on this thread
  at::CallbackHandle handle = 0;     // this trace's callback
};
thread_local TraceState tls_state;

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  if (tls_state.result == nullptr) return nullptr;
  const Op op = classify(fn.name());
  if (op == Op::kNone) return nullptr;
  if (tls_state.depth++ > 0) return nullptr;  // inside a counted op: its MACs are already counted
  const int64_t macs = macs_of(op, fn.inputs());
  tls_state.result->total += macs;
  tls_state.result->by_operator[fn.name()] += macs;
  tls_state.result->calls[fn.name()] += 1;
  return nullptr;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* /*ctx*/) {
  if (tls_state.result == nullptr) return;
  if (classify(fn.name()) != Op::kNone && tls_state.depth > 0) --tls_state.depth;
}

// Removes the callback and restores the enclosing trace even when fn throws.
class CallbackGuard {
 public:
  explicit CallbackGuard(TracedMacs* result) : saved_(tls_state) {
    // A trace inside a trace: the inner one counts alone (the outer callback would read the same
    // thread-local state and count every op twice), so the outer callback pauses until it ends.
    if (saved_.handle != 0) at::disableCallback(saved_.handle);
    const auto handle = at::addThreadLocalCallback(at::RecordFunctionCallback(on_start, on_end).needsInputs(true));
    tls_state = TraceState{result, 0, handle};
  }
  ~CallbackGuard() {
    at::removeCallback(tls_state.handle);
    tls_state = saved_;
    if (saved_.handle != 0) at::reenableCallback(saved_.handle);
  }
  CallbackGuard(const CallbackGuard&) = delete;
  CallbackGuard& operator=(const CallbackGuard&) = delete;

 private:
  TraceState saved_;
};

}  // namespace

TracedMacs trace_macs(const std::function<void()>& fn) {
  TracedMacs result;
  {
    CallbackGuard guard(&result);
    fn();
  }
  return result;
}

}  // namespace lumamba::bench
