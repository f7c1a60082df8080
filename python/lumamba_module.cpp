// _lumamba: the native part of the Python package `lumamba` (python/lumamba/). A thin layer over
// lumamba/eval/arrays.h: NumPy arrays in, NumPy arrays out (float32 buffers, no torch on the Python
// side); the GIL is released while lumamba computes; InputError arrives as ValueError with the C++
// message, other lumamba errors as RuntimeError. The friendly API (keyword arguments, MNE Raw) is in
// python/lumamba/__init__.py and mne.py.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/eval/arrays.h"
#include "lumamba/eval/events.h"
#include "lumamba/io/array_recording.h"
#include "lumamba/io/recording.h"
#include "lumamba/io/window_h5.h"
#include "lumamba/model/runtime.h"

namespace py = pybind11;
using lumamba::eval::ArrayModel;
using WindowArrays = lumamba::io::RecordingWindows;  // the windows of one recording

namespace {

int g_threads = 1;  // intra-op and preprocessing threads (set_num_threads)

template <typename T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

// A NumPy array that owns `values` (moved into a capsule): no copy on the way out.
template <typename T>
py::array_t<T> owned_array(std::vector<T>&& values, std::vector<py::ssize_t> shape) {
  auto* owner = new std::vector<T>(std::move(values));
  py::capsule free_when_done(owner, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, owner->data(), free_when_done);
}

lumamba::io::ArrayRecordingData recording_from(const CArray<double>& data, const std::vector<std::string>& ch_names,
                                               double sfreq, const py::object& positions, const std::string& unit,
                                               const py::object& annotations, const std::string& name) {
  lumamba::io::ArrayRecordingData r;
  r.name = name;
  LUMAMBA_CHECK_INPUT(data.ndim() == 2, "{}: data must be 2-D (channels, samples), got {} dimension(s)", name,
                      data.ndim());
  LUMAMBA_CHECK_INPUT(static_cast<size_t>(data.shape(0)) == ch_names.size(),
                      "{}: data has {} rows (channels) but ch_names has {} names", name, data.shape(0),
                      ch_names.size());
  const auto scale = lumamba::io::microvolts_per_unit(unit);
  LUMAMBA_CHECK_INPUT(scale.has_value(), "{}: unit '{}' is not a voltage (V, mV, uV, nV)", name, unit);
  r.channel_names = ch_names;
  r.sfreq_hz = sfreq;
  r.n_samples = data.shape(1);
  r.signal_uv.assign(data.data(), data.data() + data.size());
  if (*scale != 1.0) {
    for (auto& v : r.signal_uv) v *= *scale;
  }
  if (!positions.is_none()) {
    const auto pos = positions.cast<CArray<double>>();
    LUMAMBA_CHECK_INPUT(pos.ndim() == 2 && pos.shape(1) == 3 && static_cast<size_t>(pos.shape(0)) == ch_names.size(),
                        "{}: positions must be (channels, 3) metres, one row per name in ch_names", name);
    for (py::ssize_t i = 0; i < pos.shape(0); ++i) r.positions_m.push_back({pos.at(i, 0), pos.at(i, 1), pos.at(i, 2)});
  }
  if (!annotations.is_none()) {
    for (const auto& item : annotations) {
      const auto t = item.cast<py::tuple>();
      LUMAMBA_CHECK_INPUT(t.size() == 3, "{}: annotations are (onset_s, duration_s, text) triples", name);
      r.annotations.push_back({t[0].cast<double>(), t[1].cast<double>(), t[2].cast<std::string>()});
    }
  }
  return r;
}

std::vector<std::string> overrides_from(const py::dict& overrides) {
  std::vector<std::string> out;
  for (const auto& [k, v] : overrides) out.push_back(py::str(k).cast<std::string>() + "=" + py::str(v).cast<std::string>());
  return out;
}

py::array_t<float> signal_of(const std::shared_ptr<WindowArrays>& w) {
  // A view on the windows' buffer that keeps them alive.
  py::capsule keep(new std::shared_ptr<WindowArrays>(w), [](void* p) { delete static_cast<std::shared_ptr<WindowArrays>*>(p); });
  return py::array_t<float>({w->n_windows, w->n_channels, w->n_samples}, w->signal_uv.data(), keep);
}

py::array_t<double> locations_of(const WindowArrays& w) {
  std::vector<double> flat;
  for (const auto& p : w.channel_locations_m) flat.insert(flat.end(), p.begin(), p.end());
  return owned_array(std::move(flat), {w.n_channels, 3});
}

}  // namespace

PYBIND11_MODULE(_lumamba, m) {
  m.doc() = "Native core of lumamba (LuMamba EEG foundation model): see the package `lumamba`.";
  m.attr("__version__") = LUMAMBA_VERSION;

  static py::exception<lumamba::Error> lumamba_error(m, "LumambaError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const lumamba::InputError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const lumamba::Error& e) {
      lumamba_error(e.what());
    }
  });

  g_threads = lumamba::model::configure_threads(0);
  m.def("set_num_threads", [](int n) { g_threads = lumamba::model::configure_threads(n); },
        "Intra-op and preprocessing threads; n <= 0 means every hardware core.", py::arg("n"));
  m.def("get_num_threads", [] { return g_threads; });

  py::class_<WindowArrays, std::shared_ptr<WindowArrays>>(m, "Windows", "Preprocessed windows of one recording.")
      .def_property_readonly("signal", &signal_of, "(N, C, T) float32, µV, not z-scored")
      .def_property_readonly("window_start_s", [](const WindowArrays& w) {
        return py::array_t<double>(static_cast<py::ssize_t>(w.window_start_s.size()), w.window_start_s.data());
      })
      .def_property_readonly("labels", [](const WindowArrays& w) {  // -1 = none
        return py::array_t<int64_t>(static_cast<py::ssize_t>(w.labels.size()), w.labels.data());
      })
      .def_property_readonly("channel_names", [](const WindowArrays& w) { return w.channel_names; })
      .def_property_readonly("channel_locations", &locations_of, "(C, 3) metres")
      .def_property_readonly("sfreq", [](const WindowArrays& w) { return w.sfreq_hz; })
      .def("__len__", [](const WindowArrays& w) { return w.n_windows; })
      .def("__repr__", [](const WindowArrays& w) {
        return "<lumamba.Windows " + std::to_string(w.n_windows) + " x " + std::to_string(w.n_channels) + " channels x " +
               std::to_string(w.n_samples) + " samples at " + std::to_string(w.sfreq_hz) + " Hz>";
      });

  m.def("preprocess",
        [](const CArray<double>& data, const std::vector<std::string>& ch_names, double sfreq,
           const py::object& positions, const std::string& unit, const py::object& annotations, const std::string& name,
           const std::string& preset, const py::dict& overrides) {
          auto rec = recording_from(data, ch_names, sfreq, positions, unit, annotations, name);
          const auto kv = overrides_from(overrides);
          py::gil_scoped_release release;
          return std::make_shared<WindowArrays>(lumamba::eval::preprocess_array(rec, preset, kv, g_threads));
        },
        py::arg("data"), py::arg("ch_names"), py::arg("sfreq"), py::arg("positions"), py::arg("unit"),
        py::arg("annotations"), py::arg("name"), py::arg("preset"), py::arg("overrides"));

  m.def("read_recording",
        [](const std::string& path) {
          std::vector<double> flat;
          lumamba::io::RecordingHeader header;
          {
            py::gil_scoped_release release;
            auto reader = lumamba::io::open_recording(path);
            header = reader->header();
            LUMAMBA_CHECK_INPUT(!header.signals.empty(), "{}: no data signals", path);
            const double rate = header.signals.front().sfreq_hz;
            for (const auto& s : header.signals) {
              LUMAMBA_CHECK_INPUT(s.sfreq_hz == rate, "{}: channel '{}' is sampled at {} Hz but '{}' at {} Hz; "
                                  "lumamba.read_edf returns one rate (resample with MNE first)", path, s.label,
                                  s.sfreq_hz, header.signals.front().label, rate);
            }
            for (int64_t i = 0; i < reader->n_signals(); ++i) {
              auto v = reader->read_signal_uv(i);
              flat.insert(flat.end(), v.begin(), v.end());
            }
          }
          const auto c = static_cast<py::ssize_t>(header.signals.size());
          const auto t = static_cast<py::ssize_t>(flat.size()) / c;
          py::list names, units, annotations;
          std::vector<double> positions;
          for (const auto& s : header.signals) {
            names.append(s.label);
            units.append(s.unit_is_voltage ? std::string("uV") : s.physical_dimension);
            const auto p = s.position.value_or(lumamba::io::Position3{NAN, NAN, NAN});
            positions.insert(positions.end(), {p.x_m, p.y_m, p.z_m});
          }
          for (const auto& a : header.annotations) {
            annotations.append(py::make_tuple(a.onset_s, a.duration_s < 0 ? 0.0 : a.duration_s, a.text));
          }
          py::dict info;
          info["ch_names"] = names;
          info["sfreq"] = header.signals.front().sfreq_hz;
          info["units"] = units;
          info["positions"] = owned_array(std::move(positions), {c, 3});
          info["annotations"] = annotations;
          info["start_datetime"] = header.start_datetime;
          info["format"] = std::string(lumamba::io::recording_format_name(header.format));
          info["path"] = path;
          return py::make_tuple(owned_array(std::move(flat), {c, t}), info);
        },
        py::arg("path"));

  m.def("detect_events",
        [](const CArray<double>& window_start_s, double window_s, const CArray<double>& probabilities,
           const std::vector<std::string>& class_names, bool multilabel, double threshold, int64_t smoothing_windows,
           double min_duration_s, double merge_gap_s, const std::vector<int64_t>& classes) {
          LUMAMBA_CHECK_INPUT(probabilities.ndim() == 2, "detect_events: probabilities must be (N, K)");
          lumamba::eval::EventOptions o;
          o.threshold = threshold;
          o.smoothing_windows = smoothing_windows;
          o.min_duration_s = min_duration_s;
          o.merge_gap_s = merge_gap_s;
          o.classes = classes;
          const auto events = lumamba::eval::detect_events(
              {window_start_s.data(), window_start_s.data() + window_start_s.size()}, window_s,
              {probabilities.data(), probabilities.data() + probabilities.size()}, probabilities.shape(1), class_names,
              multilabel, o);
          py::list out;
          for (const auto& e : events) {
            py::dict d;
            d["onset_s"] = e.onset_s;
            d["duration_s"] = e.duration_s;
            d["label"] = e.label;
            d["class_index"] = e.class_index;
            d["mean_probability"] = e.mean_probability;
            d["max_probability"] = e.max_probability;
            d["n_windows"] = e.n_windows;
            d["text"] = lumamba::eval::event_annotation_text(e);
            out.append(d);
          }
          return out;
        },
        py::arg("window_start_s"), py::arg("window_s"), py::arg("probabilities"), py::arg("class_names"),
        py::arg("multilabel"), py::arg("threshold"), py::arg("smoothing_windows"), py::arg("min_duration_s"),
        py::arg("merge_gap_s"), py::arg("classes"));

  py::class_<ArrayModel>(m, "NativeModel")
      .def_static("load",
                  [](const std::vector<std::string>& weights, const std::string& config,
                     const std::vector<std::string>& overrides) {
                    py::gil_scoped_release release;
                    return ArrayModel::load(weights, config, overrides);
                  },
                  py::arg("weights"), py::arg("config"), py::arg("overrides"))
      .def_property_readonly("source", &ArrayModel::source)
      .def_property_readonly("is_classifier", &ArrayModel::is_classifier)
      .def_property_readonly("n_classes", &ArrayModel::n_classes)
      .def_property_readonly("class_names", &ArrayModel::class_names)
      .def_property_readonly("task_json", &ArrayModel::task_json)
      .def_property_readonly("config_json", &ArrayModel::config_json)
      .def_property_readonly("preprocess_json", &ArrayModel::preprocess_json)
      .def_property_readonly("embedding_dim", &ArrayModel::embedding_dim)
      .def_property_readonly("patch_size", &ArrayModel::patch_size)
      .def("windows",
           [](const ArrayModel& model, const CArray<double>& data, const std::vector<std::string>& ch_names, double sfreq,
              const py::object& positions, const std::string& unit, const py::object& annotations,
              const std::string& name, const std::string& preset, const py::dict& overrides) {
             auto rec = recording_from(data, ch_names, sfreq, positions, unit, annotations, name);
             const auto kv = overrides_from(overrides);
             py::gil_scoped_release release;
             return std::make_shared<WindowArrays>(model.windows(rec, preset, kv, g_threads));
           },
           py::arg("data"), py::arg("ch_names"), py::arg("sfreq"), py::arg("positions"), py::arg("unit"),
           py::arg("annotations"), py::arg("name"), py::arg("preset"), py::arg("overrides"))
      .def("embed",
           [](const ArrayModel& model, const std::shared_ptr<WindowArrays>& w, int64_t batch_size) {
             std::vector<float> e;
             {
               py::gil_scoped_release release;
               e = model.embed(*w, batch_size);
             }
             return owned_array(std::move(e), {w->n_windows, model.embedding_dim()});
           },
           py::arg("windows"), py::arg("batch_size"))
      .def("predict_proba",
           [](const ArrayModel& model, const std::shared_ptr<WindowArrays>& w, int64_t batch_size) {
             std::vector<double> p;
             {
               py::gil_scoped_release release;
               p = model.predict_proba(*w, batch_size);
             }
             return owned_array(std::move(p), {w->n_windows, model.n_classes()});
           },
           py::arg("windows"), py::arg("batch_size"))
      .def("forward",
           [](const ArrayModel& model, const CArray<float>& signal, const py::object& locations,
              const std::vector<std::string>& ch_names, const py::object& mask, bool zscore) {
             LUMAMBA_CHECK_INPUT(signal.ndim() == 3, "forward: signal must be (B, C, T), got {} dimension(s)",
                                 signal.ndim());
             std::vector<float> x(signal.data(), signal.data() + signal.size()), loc;
             std::vector<uint8_t> mk;
             if (!locations.is_none()) {
               const auto l = locations.cast<CArray<float>>();
               loc.assign(l.data(), l.data() + l.size());
             }
             if (!mask.is_none()) {
               const auto k = mask.cast<CArray<uint8_t>>();
               mk.assign(k.data(), k.data() + k.size());
             }
             std::vector<lumamba::eval::NamedArray> outputs;
             {
               py::gil_scoped_release release;
               outputs = model.forward(x, signal.shape(0), signal.shape(1), signal.shape(2), loc, ch_names, mk, zscore);
             }
             py::dict out;
             for (auto& o : outputs) {
               std::vector<py::ssize_t> shape(o.shape.begin(), o.shape.end());
               out[py::str(o.name)] = owned_array(std::move(o.values), shape);
             }
             return out;
           },
           py::arg("signal"), py::arg("locations"), py::arg("ch_names"), py::arg("mask"), py::arg("zscore"));
}
