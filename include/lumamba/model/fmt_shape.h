// lumamba/model/fmt_shape.h — lets fmt print tensor shapes (c10::IntArrayRef) as "[2, 22, 1280]",
// so error messages show the shape received next to the one expected.
#pragma once

#include <c10/util/ArrayRef.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

template <>
struct fmt::formatter<c10::ArrayRef<int64_t>> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(c10::ArrayRef<int64_t> shape, FormatContext& ctx) const {
    return fmt::format_to(ctx.out(), "[{}]", fmt::join(shape.begin(), shape.end(), ", "));
  }
};
