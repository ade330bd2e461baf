// nn2hls_stream.h -- hls::stream for io_stream projects, and the pixel that one stream element carries.
//
// Which stream class (docs/io_stream.md):
//   - C simulation against nn2hls's own ap types (hls_lib's ap_fixed.h defines NN2HLS_AP_CORE_H): the
//     light class below, a std::deque with the vendor's interface subset the generated code uses
//     (read(), read(T&), write(), >>, <<, empty(), size(), a name);
//   - the vendor headers (C simulation with NN2HLS_AP_TYPES) and the HLS tools (__SYNTHESIS__): the
//     vendor's own "hls_stream.h";
//   - the synthesizability lint (NN2HLS_LINT, backends/vivado/lint.py): read and write are declared and
//     never defined, i.e. the FIFO ports they are in hardware (the host model's std::deque is not the design).
// A stream element is one position's channel vector: nn2hls::pixel<T, N> holds N values of T (the last
// axis of the channels-last tensor), so a tensor of shape (..., N) is prod(...) elements in raster order.
#ifndef NN2HLS_STREAM_H_
#define NN2HLS_STREAM_H_

#include "ap_fixed.h"
#include "ap_int.h"

#if defined(NN2HLS_LINT)
namespace hls {
template <class T>
class stream {
 public:
  stream() {}
  explicit stream(const char *name) { (void)name; }
  T read();
  void read(T &v) { v = read(); }
  void write(const T &v);
  void operator>>(T &v) { v = read(); }
  void operator<<(const T &v) { write(v); }
};
}  // namespace hls
#elif defined(NN2HLS_AP_CORE_H) && !defined(__SYNTHESIS__)
#include <cstddef>
#include <cstdio>
#include <deque>
#include <string>

namespace hls {
// A FIFO of unbounded depth: the C simulation runs the DATAFLOW processes one after the other, each
// to completion, so every FIFO must hold all the values its producer writes for one call.
template <class T>
class stream {
 public:
  stream() : name_("hls::stream") {}
  explicit stream(const char *name) : name_(name) {}
  stream(const stream &) = delete;
  stream &operator=(const stream &) = delete;
  ~stream() {
    if (!data_.empty())
      std::fprintf(stderr, "nn2hls: stream '%s' holds %zu values left over at destruction\n", name_.c_str(),
                   data_.size());
  }
  T read() {
    if (data_.empty()) {
      std::fprintf(stderr, "nn2hls: stream '%s' read while empty (the design would stall)\n", name_.c_str());
      return T();
    }
    T v = data_.front();
    data_.pop_front();
    return v;
  }
  void read(T &v) { v = read(); }
  void write(const T &v) { data_.push_back(v); }
  void operator>>(T &v) { v = read(); }
  void operator<<(const T &v) { write(v); }
  bool empty() const { return data_.empty(); }
  bool full() const { return false; }
  std::size_t size() const { return data_.size(); }

 private:
  std::string name_;
  std::deque<T> data_;
};
}  // namespace hls
#else
#include "hls_stream.h"
#endif

namespace nn2hls {

// One stream element: the N channel values of one position.
template <class T, int N>
struct pixel {
  T data[N];
};

}  // namespace nn2hls

#endif
