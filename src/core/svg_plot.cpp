// SVG log-log line plots (see lumamba/core/svg_plot.h). Elements carry classes ("xtick", "ytick",
// "marker", "line", "legend") so that tests and style sheets can find them.
#include "lumamba/core/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"

namespace lumamba {
namespace {

// Layout, pixels.
constexpr double kMarginLeft = 84.0;
constexpr double kMarginRight = 24.0;
constexpr double kMarginTop = 56.0;
constexpr double kMarginBottom = 58.0;
constexpr double kMarkerRadius = 4.0;
constexpr double kMinorTickLength = 4.0;
constexpr double kMajorTickLength = 7.0;
constexpr double kLegendRowHeight = 18.0;
/// Label every decade up to this many decades on an axis, every other decade beyond.
constexpr int kMaxLabelledDecades = 10;

// Colour-blind-safe palette (Okabe & Ito 2008) and marker shapes, in series order.
constexpr std::array<const char*, 7> kColours = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                 "#E69F00", "#56B4E9", "#000000"};
enum class Marker { kCircle, kSquare, kTriangle, kDiamond, kTriangleDown };
constexpr std::array<Marker, 5> kMarkers = {Marker::kCircle, Marker::kSquare, Marker::kTriangle, Marker::kDiamond,
                                            Marker::kTriangleDown};

std::string escape_xml(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

bool present(double x, double y) { return std::isfinite(x) && std::isfinite(y) && x > 0.0 && y > 0.0; }

std::string marker_svg(Marker shape, double x, double y, const char* colour, bool hollow) {
  const std::string paint =
      fmt::format("fill=\"{}\" stroke=\"{}\" stroke-width=\"1.5\"", hollow ? "white" : colour, colour);
  const double r = kMarkerRadius;
  switch (shape) {
    case Marker::kCircle:
      return fmt::format("<circle class=\"marker\" cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"{:.1f}\" {}/>", x, y, r, paint);
    case Marker::kSquare:
      return fmt::format("<rect class=\"marker\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.1f}\" height=\"{:.1f}\" {}/>",
                         x - r, y - r, 2 * r, 2 * r, paint);
    case Marker::kTriangle:
      return fmt::format("<path class=\"marker\" d=\"M{:.2f},{:.2f} L{:.2f},{:.2f} L{:.2f},{:.2f} Z\" {}/>", x,
                         y - 1.2 * r, x + 1.1 * r, y + 0.8 * r, x - 1.1 * r, y + 0.8 * r, paint);
    case Marker::kDiamond:
      return fmt::format(
          "<path class=\"marker\" d=\"M{:.2f},{:.2f} L{:.2f},{:.2f} L{:.2f},{:.2f} L{:.2f},{:.2f} Z\" {}/>", x,
          y - 1.3 * r, x + r, y, x, y + 1.3 * r, x - r, y, paint);
    case Marker::kTriangleDown:
      return fmt::format("<path class=\"marker\" d=\"M{:.2f},{:.2f} L{:.2f},{:.2f} L{:.2f},{:.2f} Z\" {}/>", x,
                         y + 1.2 * r, x + 1.1 * r, y - 0.8 * r, x - 1.1 * r, y - 0.8 * r, paint);
  }
  return {};
}

/// Maps log10(value) in [lo, hi] decades onto [from_px, to_px].
struct LogScale {
  LogAxisRange range;
  double from_px = 0.0, to_px = 1.0;
  double operator()(double value) const {
    const double t = (std::log10(value) - range.lo_exponent) / (range.hi_exponent - range.lo_exponent);
    return from_px + t * (to_px - from_px);
  }
};

}  // namespace

LogAxisRange log_axis_range(double min_value, double max_value) {
  LUMAMBA_CHECK(min_value > 0.0 && max_value >= min_value, "log axis range [{}, {}]", min_value, max_value);
  LogAxisRange r;
  // The small tolerance keeps an exact power of ten (1000 -> 2.9999999999999996) on its own decade.
  r.lo_exponent = static_cast<int>(std::floor(std::log10(min_value) + 1e-9));
  r.hi_exponent = static_cast<int>(std::ceil(std::log10(max_value) - 1e-9));
  if (r.hi_exponent <= r.lo_exponent) r.hi_exponent = r.lo_exponent + 1;
  return r;
}

std::string decade_label(int exponent) {
  if (exponent >= 0 && exponent <= 4)
    return fmt::format("{}", static_cast<int64_t>(std::llround(std::pow(10.0, exponent))));
  if (exponent == -1) return "0.1";
  if (exponent == -2) return "0.01";
  return fmt::format("1e{}", exponent);
}

std::string svg_log_log_plot(const std::vector<PlotSeries>& series, const PlotOptions& options) {
  double x_min = std::numeric_limits<double>::infinity(), x_max = 0.0;
  double y_min = std::numeric_limits<double>::infinity(), y_max = 0.0;
  for (const auto& s : series) {
    LUMAMBA_CHECK_INPUT(s.x.size() == s.y.size(), "plot series '{}': {} x values but {} y values", s.name, s.x.size(),
                        s.y.size());
    LUMAMBA_CHECK_INPUT(s.hollow.empty() || s.hollow.size() == s.x.size(),
                        "plot series '{}': {} hollow flags for {} points", s.name, s.hollow.size(), s.x.size());
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!present(s.x[i], s.y[i])) continue;
      x_min = std::min(x_min, s.x[i]);
      x_max = std::max(x_max, s.x[i]);
      y_min = std::min(y_min, s.y[i]);
      y_max = std::max(y_max, s.y[i]);
    }
  }
  LUMAMBA_CHECK_INPUT(x_max > 0.0, "plot '{}': no series has a point to draw", options.title);
  for (const auto& line : options.reference_lines) {
    if (line.y > 0.0 && std::isfinite(line.y)) {
      y_min = std::min(y_min, line.y);
      y_max = std::max(y_max, line.y);
    }
  }
  const double width = options.width_px, height = options.height_px;
  const double left = kMarginLeft, right = width - kMarginRight;
  const double top = kMarginTop, bottom = height - kMarginBottom;
  const LogScale sx{log_axis_range(x_min, x_max), left, right};
  const LogScale sy{log_axis_range(y_min, y_max), bottom, top};

  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n",
      options.width_px, options.height_px);
  svg += fmt::format(
      "<text class=\"title\" x=\"{:.1f}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" "
      "font-weight=\"bold\">{}</text>\n",
      width / 2, escape_xml(options.title));
  if (!options.note.empty()) {
    svg += fmt::format(
        "<text class=\"note\" x=\"{:.1f}\" y=\"40\" text-anchor=\"middle\" font-size=\"11\" "
        "fill=\"#555\">{}</text>\n",
        width / 2, escape_xml(options.note));
  }

  // Grid, ticks and labels: decades labelled, 2…9 as minor ticks.
  svg += "<g class=\"axes\" stroke-width=\"1\">\n";
  const auto axis = [&](const LogScale& scale, bool is_x) {
    const int n_decades = scale.range.hi_exponent - scale.range.lo_exponent;
    const int label_step = n_decades > kMaxLabelledDecades ? 2 : 1;
    for (int e = scale.range.lo_exponent; e <= scale.range.hi_exponent; ++e) {
      const double p = scale(std::pow(10.0, e));
      if (is_x) {
        svg += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{0:.2f}\" y2=\"{2:.2f}\" stroke=\"#ddd\"/>\n", p,
                           top, bottom);
        svg += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{0:.2f}\" y2=\"{2:.2f}\" stroke=\"#000\"/>\n", p,
                           bottom, bottom + kMajorTickLength);
        if ((e - scale.range.lo_exponent) % label_step == 0) {
          svg += fmt::format("<text class=\"xtick\" x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\">{}</text>\n", p,
                             bottom + kMajorTickLength + 13, decade_label(e));
        }
      } else {
        svg += fmt::format("<line x1=\"{1:.2f}\" y1=\"{0:.2f}\" x2=\"{2:.2f}\" y2=\"{0:.2f}\" stroke=\"#ddd\"/>\n", p,
                           left, right);
        svg += fmt::format("<line x1=\"{1:.2f}\" y1=\"{0:.2f}\" x2=\"{2:.2f}\" y2=\"{0:.2f}\" stroke=\"#000\"/>\n", p,
                           left - kMajorTickLength, left);
        if ((e - scale.range.lo_exponent) % label_step == 0) {
          svg += fmt::format("<text class=\"ytick\" x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"end\">{}</text>\n",
                             left - kMajorTickLength - 3, p + 4, decade_label(e));
        }
      }
      if (e == scale.range.hi_exponent) break;
      for (int m = 2; m <= 9; ++m) {
        const double q = scale(m * std::pow(10.0, e));
        if (is_x) {
          svg += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{0:.2f}\" y2=\"{2:.2f}\" stroke=\"#000\"/>\n", q,
                             bottom, bottom + kMinorTickLength);
        } else {
          svg += fmt::format("<line x1=\"{1:.2f}\" y1=\"{0:.2f}\" x2=\"{2:.2f}\" y2=\"{0:.2f}\" stroke=\"#000\"/>\n", q,
                             left - kMinorTickLength, left);
        }
      }
    }
  };
  axis(sx, true);
  axis(sy, false);
  svg += fmt::format(
      "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"none\" "
      "stroke=\"#000\"/>\n</g>\n",
      left, top, right - left, bottom - top);
  svg += fmt::format("<text class=\"xlabel\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
                     (left + right) / 2, height - 14, escape_xml(options.x_label));
  svg += fmt::format(
      "<text class=\"ylabel\" x=\"0\" y=\"0\" text-anchor=\"middle\" "
      "transform=\"translate(18,{:.1f}) rotate(-90)\">{}</text>\n",
      (top + bottom) / 2, escape_xml(options.y_label));

  for (const auto& line : options.reference_lines) {
    if (!(line.y > 0.0) || !std::isfinite(line.y)) continue;
    const double p = sy(line.y);
    svg += fmt::format(
        "<line class=\"reference\" x1=\"{:.2f}\" y1=\"{:.2f}\" x2=\"{:.2f}\" y2=\"{:.2f}\" "
        "stroke=\"#888\" stroke-dasharray=\"6,4\"/>\n",
        left, p, right, p);
    svg += fmt::format(
        "<text class=\"reference\" x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"end\" fill=\"#555\" "
        "font-size=\"11\">{}</text>\n",
        right - 4, p - 4, escape_xml(line.label));
  }

  // Series: polylines broken at missing points, then markers.
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const char* colour = kColours[k % kColours.size()];
    const Marker shape = kMarkers[k % kMarkers.size()];
    svg += fmt::format("<g class=\"series\" data-name=\"{}\">\n", escape_xml(s.name));
    std::string points;
    int n_points = 0;
    const auto flush = [&] {
      if (n_points >= 2) {
        svg += fmt::format("<polyline class=\"line\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n",
                           colour, points);
      }
      points.clear();
      n_points = 0;
    };
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!present(s.x[i], s.y[i])) {
        flush();
        continue;
      }
      points += fmt::format("{}{:.2f},{:.2f}", n_points > 0 ? " " : "", sx(s.x[i]), sy(s.y[i]));
      ++n_points;
    }
    flush();
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!present(s.x[i], s.y[i])) continue;
      svg += marker_svg(shape, sx(s.x[i]), sy(s.y[i]), colour, !s.hollow.empty() && s.hollow[i]) + "\n";
    }
    svg += "</g>\n";
  }

  // Legend, top left inside the plot (curves against length rise to the right).
  const double legend_x = left + 10, legend_y = top + 10;
  double legend_width = 0.0;
  for (const auto& s : series) legend_width = std::max(legend_width, 7.0 * static_cast<double>(s.name.size()));
  svg += fmt::format(
      "<g class=\"legend\">\n<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
      "fill=\"white\" fill-opacity=\"0.85\" stroke=\"#aaa\"/>\n",
      legend_x, legend_y, legend_width + 48, kLegendRowHeight * static_cast<double>(series.size()) + 8);
  for (size_t k = 0; k < series.size(); ++k) {
    const char* colour = kColours[k % kColours.size()];
    const double y = legend_y + 4 + kLegendRowHeight * (static_cast<double>(k) + 0.5);
    svg += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2\"/>\n",
        legend_x + 6, y, legend_x + 30, y, colour);
    std::string marker = marker_svg(kMarkers[k % kMarkers.size()], legend_x + 18, y, colour, false);
    marker.replace(marker.find("class=\"marker\""), 14, "class=\"legend-marker\"");
    svg += marker + "\n";
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", legend_x + 38, y + 4, escape_xml(series[k].name));
  }
  svg += "</g>\n</svg>\n";
  return svg;
}

void write_svg_log_log_plot(const std::string& path, const std::vector<PlotSeries>& series,
                            const PlotOptions& options) {
  write_text_file_atomic(path, svg_log_log_plot(series, options));
}

namespace {
// The document, white background, centred title and optional note of the interval and scatter plots.
std::string document_head(const PlotOptions& options) {
  const double width = options.width_px;
  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text class=\"title\" x=\"{2:.1f}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" "
      "font-weight=\"bold\">{3}</text>\n",
      options.width_px, options.height_px, width / 2, escape_xml(options.title));
  if (!options.note.empty()) {
    svg += fmt::format("<text class=\"note\" x=\"{:.1f}\" y=\"40\" text-anchor=\"middle\" font-size=\"11\" "
                       "fill=\"#555\">{}</text>\n", width / 2, escape_xml(options.note));
  }
  return svg;
}

}  // namespace

std::string svg_interval_plot(const std::vector<std::string>& categories, const std::vector<IntervalSeries>& series,
                              const PlotOptions& options, double y_min, double y_max) {
  LUMAMBA_CHECK_INPUT(!categories.empty() && y_max > y_min, "interval plot '{}': no categories or empty y range",
                      options.title);
  for (const auto& s : series) {
    LUMAMBA_CHECK_INPUT(s.centre.size() == categories.size() && s.half_width.size() == categories.size(),
                        "interval plot series '{}': {} centres and {} half-widths for {} categories", s.name,
                        s.centre.size(), s.half_width.size(), categories.size());
  }
  const double width = options.width_px, height = options.height_px;
  double legend_width = 0.0;
  for (const auto& s : series) legend_width = std::max(legend_width, 7.0 * static_cast<double>(s.name.size()) + 34);
  const double left = kMarginLeft, right = width - kMarginRight - legend_width - 10;
  const double top = kMarginTop, bottom = height - kMarginBottom;
  const auto sy = [&](double y) { return bottom - (std::clamp(y, y_min, y_max) - y_min) / (y_max - y_min) * (bottom - top); };
  std::string svg = document_head(options);
  svg += "<g class=\"axes\" stroke-width=\"1\">\n";
  // Gridlines at round values: every 0.1 for metric-like ranges, else a tenth of the range.
  const double grid = y_max - y_min <= 2.0 ? 0.1 : (y_max - y_min) / 10.0;
  for (double v = std::ceil(y_min / grid - 1e-9) * grid; v <= y_max + 1e-9; v += grid) {
    svg += fmt::format("<line x1=\"{1:.2f}\" y1=\"{0:.2f}\" x2=\"{2:.2f}\" y2=\"{0:.2f}\" stroke=\"#ddd\"/>\n"
                       "<text class=\"ytick\" x=\"{3:.2f}\" y=\"{4:.2f}\" text-anchor=\"end\">{5:.2f}</text>\n",
                       sy(v), left, right, left - 6, sy(v) + 4, std::abs(v) < 1e-9 ? 0.0 : v);
  }
  const double slot = (right - left) / static_cast<double>(categories.size());
  for (size_t c = 0; c < categories.size(); ++c) {
    svg += fmt::format("<text class=\"xtick\" x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\">{}</text>\n",
                       left + slot * (static_cast<double>(c) + 0.5), bottom + 18, escape_xml(categories[c]));
  }
  svg += fmt::format("<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"none\" "
                     "stroke=\"#000\"/>\n</g>\n", left, top, right - left, bottom - top);
  svg += fmt::format("<text class=\"ylabel\" x=\"0\" y=\"0\" text-anchor=\"middle\" "
                     "transform=\"translate(18,{:.1f}) rotate(-90)\">{}</text>\n",
                     (top + bottom) / 2, escape_xml(options.y_label));
  for (const auto& line : options.reference_lines) {
    svg += fmt::format("<line class=\"reference\" x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{2:.2f}\" y2=\"{1:.2f}\" "
                       "stroke=\"#888\" stroke-dasharray=\"6,4\"/>\n<text class=\"reference\" x=\"{3:.2f}\" "
                       "y=\"{4:.2f}\" text-anchor=\"end\" fill=\"#555\" font-size=\"11\">{5}</text>\n",
                       left, sy(line.y), right, right - 4, sy(line.y) - 4, escape_xml(line.label));
  }
  const double step = slot / static_cast<double>(series.size() + 1);
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const char* colour = kColours[k % kColours.size()];
    svg += fmt::format("<g class=\"series\" data-name=\"{}\">\n", escape_xml(s.name));
    for (size_t c = 0; c < categories.size(); ++c) {
      if (!std::isfinite(s.centre[c])) continue;
      const double x = left + slot * static_cast<double>(c) + step * static_cast<double>(k + 1);
      const double h = std::isfinite(s.half_width[c]) ? s.half_width[c] : 0.0;
      if (h > 0) {
        svg += fmt::format("<line class=\"errorbar\" x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{0:.2f}\" y2=\"{2:.2f}\" "
                           "stroke=\"{3}\" stroke-width=\"2\"/>\n", x, sy(s.centre[c] - h), sy(s.centre[c] + h), colour);
      }
      svg += marker_svg(kMarkers[k % kMarkers.size()], x, sy(s.centre[c]), colour, false) + "\n";
    }
    svg += "</g>\n";
  }
  svg += "<g class=\"legend\">\n";
  for (size_t k = 0; k < series.size(); ++k) {
    const double y = top + 10 + kLegendRowHeight * (static_cast<double>(k) + 0.5);
    std::string marker = marker_svg(kMarkers[k % kMarkers.size()], right + 22, y, kColours[k % kColours.size()], false);
    marker.replace(marker.find("class=\"marker\""), 14, "class=\"legend-marker\"");
    svg += marker + fmt::format("\n<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", right + 34, y + 4,
                                escape_xml(series[k].name));
  }
  svg += "</g>\n</svg>\n";
  return svg;
}

std::string svg_scatter_plot(const std::vector<PlotSeries>& series, const PlotOptions& options) {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const auto& s : series) {
    LUMAMBA_CHECK_INPUT(s.x.size() == s.y.size(), "scatter plot series '{}': {} x and {} y values", s.name,
                        s.x.size(), s.y.size());
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  }
  LUMAMBA_CHECK_INPUT(std::isfinite(x_lo), "scatter plot '{}': no finite point", options.title);
  const auto pad = [](double& lo, double& hi) {
    const double span = hi > lo ? hi - lo : 1.0;
    lo -= 0.05 * span;
    hi += 0.05 * span;
  };
  pad(x_lo, x_hi);
  pad(y_lo, y_hi);
  const double width = options.width_px, height = options.height_px;
  double legend_width = 0.0;
  for (const auto& s : series) legend_width = std::max(legend_width, 7.0 * static_cast<double>(s.name.size()) + 34);
  const double left = kMarginLeft, right = width - kMarginRight - legend_width - 10;
  const double top = kMarginTop, bottom = height - kMarginBottom;
  const auto sx = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * (right - left); };
  const auto sy = [&](double y) { return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top); };
  std::string svg = document_head(options);
  svg += fmt::format("<g class=\"axes\">\n<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
                     "fill=\"none\" stroke=\"#000\"/>\n", left, top, right - left, bottom - top);
  // Five ticks per axis at evenly spaced values: projections have no natural round numbers.
  for (int i = 0; i <= 4; ++i) {
    const double xv = x_lo + (x_hi - x_lo) * i / 4.0, yv = y_lo + (y_hi - y_lo) * i / 4.0;
    svg += fmt::format("<text class=\"xtick\" x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\">{:.3g}</text>\n",
                       sx(xv), bottom + 16, xv);
    svg += fmt::format("<text class=\"ytick\" x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"end\">{:.3g}</text>\n",
                       left - 6, sy(yv) + 4, yv);
  }
  svg += fmt::format("<text class=\"xlabel\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
                     (left + right) / 2, height - 16, escape_xml(options.x_label));
  svg += fmt::format("<text class=\"ylabel\" x=\"0\" y=\"0\" text-anchor=\"middle\" "
                     "transform=\"translate(18,{:.1f}) rotate(-90)\">{}</text>\n</g>\n",
                     (top + bottom) / 2, escape_xml(options.y_label));
  const auto style = [](size_t k) {
    return std::pair{kColours[k % kColours.size()], kMarkers[(k / kColours.size()) % kMarkers.size()]};
  };
  for (size_t k = 0; k < series.size(); ++k) {
    const auto [colour, shape] = style(k);
    svg += fmt::format("<g class=\"series\" data-name=\"{}\" fill-opacity=\"0.7\">\n", escape_xml(series[k].name));
    for (size_t i = 0; i < series[k].x.size(); ++i) {
      if (!std::isfinite(series[k].x[i]) || !std::isfinite(series[k].y[i])) continue;
      svg += marker_svg(shape, sx(series[k].x[i]), sy(series[k].y[i]), colour, false) + "\n";
    }
    svg += "</g>\n";
  }
  svg += "<g class=\"legend\">\n";
  for (size_t k = 0; k < series.size(); ++k) {
    const auto [colour, shape] = style(k);
    const double y = top + 10 + kLegendRowHeight * (static_cast<double>(k) + 0.5);
    std::string marker = marker_svg(shape, right + 22, y, colour, false);
    marker.replace(marker.find("class=\"marker\""), 14, "class=\"legend-marker\"");
    svg += marker + fmt::format("\n<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", right + 34, y + 4,
                                escape_xml(series[k].name));
  }
  svg += "</g>\n</svg>\n";
  return svg;
}

namespace {

// Five ticks at round values (1, 2 or 5 × 10^k steps) covering [lo, hi].
std::vector<double> round_ticks(double lo, double hi) {
  const double raw = (hi - lo) / 4.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (const double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step) ticks.push_back(std::abs(v) < 1e-12 * step ? 0.0 : v);
  return ticks;
}

std::string legend_svg(const std::vector<PlotSeries>& series, double x, double top) {
  std::string svg = "<g class=\"legend\">\n";
  for (size_t k = 0; k < series.size(); ++k) {
    const double y = top + 10 + kLegendRowHeight * (static_cast<double>(k) + 0.5);
    const char* colour = kColours[k % kColours.size()];
    svg += fmt::format("<line class=\"legend-line\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
                       "stroke=\"{}\" stroke-width=\"2\"/>\n<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
                       x + 12, y, x + 30, y, colour, x + 34, y + 4, escape_xml(series[k].name));
  }
  return svg + "</g>\n";
}

}  // namespace

std::string svg_line_plot(const std::vector<PlotSeries>& series, const PlotOptions& options, const LinearAxes& axes) {
  double x_lo = axes.x_lo, x_hi = axes.x_hi, y_lo = axes.y_lo, y_hi = axes.y_hi;
  const bool fit_x = !(x_hi > x_lo), fit_y = !(y_hi > y_lo);
  if (fit_x) x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  if (fit_y) y_lo = std::numeric_limits<double>::infinity(), y_hi = -y_lo;
  bool any = false;
  for (const auto& s : series) {
    LUMAMBA_CHECK_INPUT(s.x.size() == s.y.size(), "line plot series '{}': {} x and {} y values", s.name, s.x.size(),
                        s.y.size());
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      any = true;
      if (fit_x) x_lo = std::min(x_lo, s.x[i]), x_hi = std::max(x_hi, s.x[i]);
      if (fit_y) y_lo = std::min(y_lo, s.y[i]), y_hi = std::max(y_hi, s.y[i]);
    }
  }
  LUMAMBA_CHECK_INPUT(any, "line plot '{}': no finite point", options.title);
  const auto pad = [](double& lo, double& hi) {
    const double span = hi > lo ? hi - lo : std::max(1.0, std::abs(lo));
    lo -= 0.05 * span;
    hi += 0.05 * span;
  };
  if (fit_x) pad(x_lo, x_hi);
  if (fit_y) pad(y_lo, y_hi);
  const double width = options.width_px, height = options.height_px;
  double legend_width = 0.0;
  for (const auto& s : series) legend_width = std::max(legend_width, 7.0 * static_cast<double>(s.name.size()) + 40);
  const double left = kMarginLeft, right = width - kMarginRight - legend_width - 10;
  const double top = kMarginTop, bottom = height - kMarginBottom;
  const auto sx = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * (right - left); };
  const auto sy = [&](double y) { return bottom - (std::clamp(y, y_lo, y_hi) - y_lo) / (y_hi - y_lo) * (bottom - top); };
  std::string svg = document_head(options);
  svg += "<g class=\"axes\">\n";
  for (const double v : round_ticks(y_lo, y_hi)) {
    svg += fmt::format("<line x1=\"{1:.2f}\" y1=\"{0:.2f}\" x2=\"{2:.2f}\" y2=\"{0:.2f}\" stroke=\"#e4e4e4\"/>\n"
                       "<text class=\"ytick\" x=\"{3:.2f}\" y=\"{4:.2f}\" text-anchor=\"end\">{5:.4g}</text>\n",
                       sy(v), left, right, left - 6, sy(v) + 4, v);
  }
  for (const double v : round_ticks(x_lo, x_hi)) {
    svg += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{0:.2f}\" y2=\"{2:.2f}\" stroke=\"#e4e4e4\"/>\n"
                       "<text class=\"xtick\" x=\"{0:.2f}\" y=\"{3:.2f}\" text-anchor=\"middle\">{4:.4g}</text>\n",
                       sx(v), top, bottom, bottom + 16, v);
  }
  svg += fmt::format("<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"none\" "
                     "stroke=\"#000\"/>\n", left, top, right - left, bottom - top);
  svg += fmt::format("<text class=\"xlabel\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
                     (left + right) / 2, height - 16, escape_xml(options.x_label));
  svg += fmt::format("<text class=\"ylabel\" x=\"0\" y=\"0\" text-anchor=\"middle\" "
                     "transform=\"translate(18,{:.1f}) rotate(-90)\">{}</text>\n</g>\n",
                     (top + bottom) / 2, escape_xml(options.y_label));
  if (axes.diagonal) {
    svg += fmt::format("<line class=\"diagonal\" x1=\"{:.2f}\" y1=\"{:.2f}\" x2=\"{:.2f}\" y2=\"{:.2f}\" "
                       "stroke=\"#999\" stroke-dasharray=\"5,4\"/>\n", sx(std::max(x_lo, y_lo)), sy(std::max(x_lo, y_lo)),
                       sx(std::min(x_hi, y_hi)), sy(std::min(x_hi, y_hi)));
  }
  for (const auto& line : options.reference_lines) {
    svg += fmt::format("<line class=\"reference\" x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{2:.2f}\" y2=\"{1:.2f}\" "
                       "stroke=\"#888\" stroke-dasharray=\"6,4\"/>\n<text class=\"reference\" x=\"{3:.2f}\" "
                       "y=\"{4:.2f}\" text-anchor=\"end\" fill=\"#555\" font-size=\"11\">{5}</text>\n",
                       left, sy(line.y), right, right - 4, sy(line.y) - 4, escape_xml(line.label));
  }
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const char* colour = kColours[k % kColours.size()];
    svg += fmt::format("<g class=\"series\" data-name=\"{}\">\n", escape_xml(s.name));
    std::string path;
    bool pen_down = false;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        pen_down = false;
        continue;
      }
      if (axes.steps && pen_down) path += fmt::format(" H{:.2f}", sx(s.x[i]));
      path += fmt::format("{}{:.2f},{:.2f}", pen_down ? " L" : " M", sx(s.x[i]), sy(s.y[i]));
      pen_down = true;
    }
    svg += fmt::format("<path class=\"line\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", path,
                       colour);
    if (axes.markers) {
      for (size_t i = 0; i < s.x.size(); ++i) {
        if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
          svg += marker_svg(kMarkers[k % kMarkers.size()], sx(s.x[i]), sy(s.y[i]), colour, false) + "\n";
        }
      }
    }
    svg += "</g>\n";
  }
  svg += legend_svg(series, right, top);
  svg += "</svg>\n";
  return svg;
}

std::string svg_heat_map(const std::vector<std::string>& row_labels, const std::vector<std::string>& column_labels,
                         const std::vector<std::vector<double>>& values, const PlotOptions& options) {
  LUMAMBA_CHECK_INPUT(!row_labels.empty() && !column_labels.empty() && values.size() == row_labels.size(),
                      "heat map '{}': {} rows of values for {} row labels", options.title, values.size(),
                      row_labels.size());
  double largest = 0;
  for (const auto& row : values) {
    LUMAMBA_CHECK_INPUT(row.size() == column_labels.size(), "heat map '{}': a row of {} values for {} columns",
                        options.title, row.size(), column_labels.size());
    for (const double v : row) {
      if (std::isfinite(v)) largest = std::max(largest, std::abs(v));
    }
  }
  const double width = options.width_px, height = options.height_px;
  const double left = kMarginLeft + 40, right = width - kMarginRight, top = kMarginTop + 10, bottom = height - kMarginBottom;
  const double cell_w = (right - left) / static_cast<double>(column_labels.size());
  const double cell_h = (bottom - top) / static_cast<double>(row_labels.size());
  std::string svg = document_head(options);
  for (size_t r = 0; r < row_labels.size(); ++r) {
    for (size_t c = 0; c < column_labels.size(); ++c) {
      const double v = values[r][c];
      const double t = largest > 0 && std::isfinite(v) ? std::abs(v) / largest : 0.0;
      // White to the palette's blue (#0072B2); text turns white on dark cells.
      const auto channel = [&](int full, int blue) { return static_cast<int>(std::lround(full + t * (blue - full))); };
      svg += fmt::format("<rect class=\"cell\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
                         "fill=\"rgb({},{},{})\" stroke=\"#fff\"/>\n<text class=\"value\" x=\"{:.2f}\" y=\"{:.2f}\" "
                         "text-anchor=\"middle\" fill=\"{}\">{:.4g}</text>\n",
                         left + cell_w * static_cast<double>(c), top + cell_h * static_cast<double>(r), cell_w, cell_h,
                         channel(255, 0), channel(255, 114), channel(255, 178),
                         left + cell_w * (static_cast<double>(c) + 0.5), top + cell_h * (static_cast<double>(r) + 0.5) + 4,
                         t > 0.55 ? "#fff" : "#000", v);
    }
    svg += fmt::format("<text class=\"ytick\" x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"end\">{}</text>\n", left - 6,
                       top + cell_h * (static_cast<double>(r) + 0.5) + 4, escape_xml(row_labels[r]));
  }
  for (size_t c = 0; c < column_labels.size(); ++c) {
    svg += fmt::format("<text class=\"xtick\" x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\">{}</text>\n",
                       left + cell_w * (static_cast<double>(c) + 0.5), bottom + 16, escape_xml(column_labels[c]));
  }
  svg += fmt::format("<text class=\"xlabel\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
                     (left + right) / 2, height - 14, escape_xml(options.x_label));
  svg += fmt::format("<text class=\"ylabel\" x=\"0\" y=\"0\" text-anchor=\"middle\" "
                     "transform=\"translate(18,{:.1f}) rotate(-90)\">{}</text>\n</svg>\n",
                     (top + bottom) / 2, escape_xml(options.y_label));
  return svg;
}

}  // namespace lumamba
