// SVG log-log plots (lumamba/core/svg_plot.h): document structure, decade tick positions for a known
// range, missing points skipped (no marker, line broken), hollow markers, bad input rejected.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/core/svg_plot.h"

namespace lumamba {
namespace {

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

/// (label, coordinate) of every <text class="xtick"> (x) or "ytick" (y) element.
std::vector<std::pair<std::string, double>> ticks(const std::string& svg, const std::string& cls) {
  const std::string coord = cls == "xtick" ? "x" : "y";
  const std::regex re("<text class=\"" + cls + "\" x=\"([-0-9.]+)\" y=\"([-0-9.]+)\"[^>]*>([^<]*)</text>");
  std::vector<std::pair<std::string, double>> out;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator(); ++it) {
    out.emplace_back((*it)[3], std::stod((*it)[cls == "xtick" ? 1 : 2]));
  }
  return out;
}

PlotOptions options() {
  PlotOptions o;
  o.title = "MACs <per> forward & more";
  o.x_label = "seconds of EEG";
  o.y_label = "MACs";
  return o;
}

TEST(SvgPlot, LogAxisRangeCoversWholeDecades) {
  EXPECT_EQ(log_axis_range(1.0, 1000.0).lo_exponent, 0);
  EXPECT_EQ(log_axis_range(1.0, 1000.0).hi_exponent, 3);
  EXPECT_EQ(log_axis_range(1.25, 3125.0).lo_exponent, 0);
  EXPECT_EQ(log_axis_range(1.25, 3125.0).hi_exponent, 4);
  EXPECT_EQ(log_axis_range(0.02, 0.05).lo_exponent, -2);
  EXPECT_EQ(log_axis_range(0.02, 0.05).hi_exponent, -1);
  EXPECT_EQ(log_axis_range(100.0, 100.0).lo_exponent, 2);  // one point: one decade
  EXPECT_EQ(log_axis_range(100.0, 100.0).hi_exponent, 3);
  EXPECT_EQ(decade_label(0), "1");
  EXPECT_EQ(decade_label(3), "1000");
  EXPECT_EQ(decade_label(-2), "0.01");
  EXPECT_EQ(decade_label(9), "1e9");
  EXPECT_EQ(decade_label(-3), "1e-3");
}

TEST(SvgPlot, DocumentStructureIsWellFormed) {
  const std::string svg = svg_log_log_plot({{"a", {1, 10, 100}, {2, 20, 200}, {}}}, options());
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_EQ(count(svg, "<svg "), 1u);
  EXPECT_NE(svg.find("</svg>\n"), std::string::npos);
  EXPECT_EQ(count(svg, "<g"), count(svg, "</g>"));
  EXPECT_EQ(count(svg, "<text"), count(svg, "</text>"));
  // Every element is either self-closed or closed: no bare '<' or '&' from the title.
  EXPECT_NE(svg.find("MACs &lt;per&gt; forward &amp; more"), std::string::npos);
  EXPECT_EQ(svg.find("<per>"), std::string::npos);
  EXPECT_NE(svg.find(">seconds of EEG</text>"), std::string::npos);
  EXPECT_NE(svg.find(">MACs</text>"), std::string::npos);
}

TEST(SvgPlot, DecadeTicksAreEvenlySpacedAndLabelled) {
  PlotOptions o = options();
  o.width_px = 760;
  const std::string svg = svg_log_log_plot({{"a", {1, 1000}, {1e6, 1e9}, {}}}, o);
  const auto x = ticks(svg, "xtick");
  ASSERT_EQ(x.size(), 4u);
  EXPECT_EQ(x[0].first, "1");
  EXPECT_EQ(x[1].first, "10");
  EXPECT_EQ(x[2].first, "100");
  EXPECT_EQ(x[3].first, "1000");
  // Plot area [84, 760 - 24]: three decades of (736 - 84) / 3 px each.
  const double decade_px = (760.0 - 24.0 - 84.0) / 3.0;
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i].second, 84.0 + decade_px * static_cast<double>(i), 0.01);
  const auto y = ticks(svg, "ytick");
  ASSERT_EQ(y.size(), 4u);
  EXPECT_EQ(y.front().first, "1e6");
  EXPECT_EQ(y.back().first, "1e9");
  EXPECT_GT(y.front().second, y.back().second);  // larger values higher up
  // 8 minor ticks per decade on each axis.
  EXPECT_GE(count(svg, "<line"), 2u * (4u + 4u) + 2u * 3u * 8u);
}

TEST(SvgPlot, MissingPointsAreSkippedAndBreakTheLine) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  PlotSeries s{"model", {1, 2, 4, 8, 16}, {10, 20, nan, 80, 160}, {}};
  PlotSeries zero{"zero", {1, 2, 4}, {0.0, 5, 6}, {}};  // non-positive on a log axis: missing
  const std::string svg = svg_log_log_plot({s, zero}, options());
  EXPECT_EQ(count(svg, "class=\"marker\""), 4u + 2u);
  // model: two runs of 2 points; zero: one run of 2 points.
  EXPECT_EQ(count(svg, "class=\"line\""), 3u);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
  EXPECT_EQ(count(svg, "class=\"legend-marker\""), 2u);
}

TEST(SvgPlot, HollowMarkersAndReferenceLines) {
  PlotOptions o = options();
  o.reference_lines.push_back({4096.0, "budget 4 GiB"});
  const std::string svg = svg_log_log_plot({{"a", {1, 10}, {100, 1000}, {false, true}}}, o);
  EXPECT_EQ(count(svg, "fill=\"white\" stroke=\"#0072B2\""), 1u);
  EXPECT_NE(svg.find(">budget 4 GiB</text>"), std::string::npos);
  // The reference line widens the y axis to 10^4.
  EXPECT_EQ(ticks(svg, "ytick").back().first, "10000");
}

TEST(SvgPlot, RejectsEmptyAndMismatchedSeries) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(svg_log_log_plot({{"a", {1}, {nan}, {}}}, options()), InputError);
  EXPECT_THROW(svg_log_log_plot({{"a", {1, 2}, {1}, {}}}, options()), InputError);
  EXPECT_THROW(svg_log_log_plot({{"a", {1, 2}, {1, 2}, {true}}}, options()), InputError);
}

// Linear line plots: fixed [0, 1] axes put a point at a known pixel; round ticks; a NaN breaks the
// path (a second "M"); steps hold a value until the next x ("H"); the legend has a line per series.
TEST(SvgPlot, LinearLinePlotAxesStepsAndBreaks) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  PlotOptions o = options();
  o.width_px = 600;
  o.height_px = 400;
  LinearAxes unit;
  unit.x_hi = unit.y_hi = 1;
  unit.diagonal = true;
  const std::string svg = svg_line_plot({{"roc", {0, 0.5, 1}, {0, 0.75, 1}, {}}, {"b", {0, 1}, {1, 0}, {}}}, o, unit);
  EXPECT_EQ(count(svg, "class=\"line\""), 2u);
  EXPECT_EQ(count(svg, "class=\"legend-line\""), 2u);
  EXPECT_EQ(count(svg, "class=\"diagonal\""), 1u);
  // x ticks 0, 0.25, ..., 1 across [left=84, right=600-24-legend-10].
  const auto x = ticks(svg, "xtick");
  ASSERT_EQ(x.size(), 5u);
  EXPECT_EQ(x.front().first, "0");
  EXPECT_EQ(x[2].first, "0.5");
  EXPECT_EQ(x.back().first, "1");
  EXPECT_NEAR(x[2].second, (x.front().second + x.back().second) / 2, 0.01);
  const auto y = ticks(svg, "ytick");
  ASSERT_EQ(y.size(), 5u);
  EXPECT_NEAR(y.front().second - 4, 400 - 58, 0.01);  // y = 0 on the bottom edge (label 4 px below the line)

  LinearAxes steps;
  steps.steps = true;
  const std::string stepped = svg_line_plot({{"p", {0, 5, 10, 15}, {0.2, 0.9, nan, 0.4}, {}}}, o, steps);
  EXPECT_EQ(count(stepped, " H"), 1u);  // 0 → 5 held; the NaN breaks; 15 starts anew
  EXPECT_EQ(count(stepped, " M"), 2u);
  EXPECT_EQ(stepped.find("nan"), std::string::npos);
  EXPECT_THROW(svg_line_plot({{"bad", {1, 2}, {1}, {}}}, o, {}), InputError);
  EXPECT_THROW(svg_line_plot({{"empty", {nan}, {nan}, {}}}, o, {}), InputError);
}

// Heat maps: one cell per value with the value written in it; the largest is the darkest.
TEST(SvgPlot, HeatMapCellsAndValues) {
  const std::string svg = svg_heat_map({"normal", "abnormal"}, {"normal", "abnormal"}, {{40, 10}, {5, 45}}, options());
  EXPECT_EQ(count(svg, "class=\"cell\""), 4u);
  for (const char* v : {">40<", ">10<", ">5<", ">45<"}) EXPECT_NE(svg.find(v), std::string::npos) << v;
  EXPECT_NE(svg.find("fill=\"rgb(0,114,178)\""), std::string::npos);  // 45: full colour
  EXPECT_EQ(count(svg, "class=\"ytick\""), 2u);
  EXPECT_THROW(svg_heat_map({"a"}, {"a", "b"}, {{1}}, options()), InputError);
}

}  // namespace
}  // namespace lumamba
