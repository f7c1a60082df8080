// lumamba/core/svg_plot.h — a small SVG plot writer: log-log line plots for `lumamba bench
// efficiency` (MACs, time and memory against seconds of EEG), interval plots (mean ± std per
// method and metric) for `lumamba benchmark` and scatter plots of embeddings for `lumamba probe`.
//
// Why our own: gnuplot is not installed on our machines and Python is never a run-time dependency
// (docs/style.md §28); the plots are a few series of ≤ 20 points on decade axes, and a runtime dependency on a
// plotting program for three such plots is not worth it. The output is plain SVG 1.1 text that
// browsers and Markdown viewers render.
#pragma once

#include <string>
#include <vector>

namespace lumamba {

struct PlotSeries {
  std::string name;          ///< legend text
  std::vector<double> x, y;  ///< same length; a point with a non-finite or (log axis) non-positive
                             ///< coordinate is missing: no marker, and the line breaks there
  /// Optional, same length: draw this point's marker hollow (e.g. "computed, not measured").
  std::vector<bool> hollow;
};

/// A horizontal reference line across the plot (e.g. a memory budget).
struct PlotReferenceLine {
  double y = 0.0;
  std::string label;
};

struct PlotOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::string note;  ///< optional small text under the title
  int width_px = 760;
  int height_px = 500;
  std::vector<PlotReferenceLine> reference_lines;
};

/// Decade bounds [10^lo, 10^hi] of a log axis covering [min_value, max_value] (both > 0): lo = floor,
/// hi = ceil of log10, at least one decade apart.
struct LogAxisRange {
  int lo_exponent = 0;
  int hi_exponent = 1;
};
LogAxisRange log_axis_range(double min_value, double max_value);

/// Label of the decade tick 10^exponent: "0.01" … "10000" for exponents -2 … 4, "1e5", "1e-3" beyond.
std::string decade_label(int exponent);

/// The SVG document (log-log axes, decade ticks and labels, minor ticks at 2…9, one colour and marker
/// per series, legend, title and axis labels). Series without any present point are listed in the
/// legend only. Throws InputError when no series has a present point or when x and y (or hollow)
/// lengths differ.
std::string svg_log_log_plot(const std::vector<PlotSeries>& series, const PlotOptions& options);

/// svg_log_log_plot written to `path` atomically (lumamba/core/atomic_file.h).
void write_svg_log_log_plot(const std::string& path, const std::vector<PlotSeries>& series, const PlotOptions& options);

/// One method in an interval plot: per category a centre (mean) and a half-width (std); NaN = missing.
struct IntervalSeries {
  std::string name;
  std::vector<double> centre, half_width;
};

/// Categories along x (e.g. metrics), one marker with error bar per series in each, side by side,
/// on a linear y axis [y_min, y_max] with gridlines every 0.1 (ranges up to 2) or every tenth of the
/// range; a legend on the right.
/// Throws InputError when a series' lengths differ from the categories'.
std::string svg_interval_plot(const std::vector<std::string>& categories, const std::vector<IntervalSeries>& series,
                              const PlotOptions& options, double y_min, double y_max);

/// Scatter plot on linear axes (ranges from the points, 5 % padding), small markers without lines,
/// one colour/marker per series (7 colours × 5 shapes before they repeat), legend on the right. For
/// 2-D projections such as PCA scores. Throws InputError when x and y lengths differ or no point is
/// finite.
std::string svg_scatter_plot(const std::vector<PlotSeries>& series, const PlotOptions& options);

/// Linear axes of a line plot: fixed ranges (e.g. [0, 1] for ROC curves) or, when lo >= hi, the
/// data's range with 5 % padding.
struct LinearAxes {
  double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;
  bool markers = false;     ///< a marker at every point (few points, e.g. per-epoch metrics)
  bool steps = false;       ///< hold each value until the next x (step plot: window probabilities)
  bool diagonal = false;    ///< the dashed y = x line (chance on a ROC curve)
};

/// Line plot on linear axes: one colour (and marker shape) per series, a line broken at non-finite
/// points, five round ticks per axis, legend on the right, reference lines. Throws InputError when x
/// and y lengths differ or no point is finite.
std::string svg_line_plot(const std::vector<PlotSeries>& series, const PlotOptions& options, const LinearAxes& axes);

/// Heat map of a matrix (rows × columns, e.g. a confusion matrix: true class × predicted class): each
/// cell shaded by its value relative to the largest, with the value written in it; row and column
/// labels, axis labels from options. Throws InputError when the sizes do not match the labels.
std::string svg_heat_map(const std::vector<std::string>& row_labels, const std::vector<std::string>& column_labels,
                         const std::vector<std::vector<double>>& values, const PlotOptions& options);

}  // namespace lumamba
