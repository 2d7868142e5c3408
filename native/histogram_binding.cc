#include "histogram_binding.h"

#include <cmath>
#include <memory>
#include <new>

#include "histogram.h"
#include "napi_util.h"

namespace uvscope {
namespace {

Napi::Value HistogramOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float64Array values;
  if (!Float64ArrayArg(info, 0, "values", 0, &values)) return {};
  std::unique_ptr<Histogram> histogram(new (std::nothrow) Histogram());
  if (histogram == nullptr) {
    Napi::Error::New(env, "uvscope: no memory for a histogram").ThrowAsJavaScriptException();
    return {};
  }
  for (size_t i = 0; i < values.ElementLength(); ++i) {
    const double value = values[i];
    if (!(value >= 0) || !std::isfinite(value) || value >= 18446744073709551616.0) {
      Napi::RangeError::New(env, "uvscope: values must be finite and >= 0").ThrowAsJavaScriptException();
      return {};
    }
    histogram->Record(static_cast<uint64_t>(value));
  }
  Napi::Float64Array out = Napi::Float64Array::New(env, Histogram::kCopySize);
  if (Failed(out) || out.Data() == nullptr) return {};
  histogram->CopyTo(out.Data());
  return out;
}

}  // namespace

void InitHistogram(Napi::Env env, Napi::Object exports, Instance*) {
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("subBits", Napi::Number::New(env, Histogram::kSubBits));
  layout.Set("maxBits", Napi::Number::New(env, Histogram::kMaxBits));
  layout.Set("buckets", Napi::Number::New(env, static_cast<double>(Histogram::kBuckets)));
  layout.Set("header", Napi::Number::New(env, static_cast<double>(Histogram::kHeader)));
  exports.Set("histogramLayout", layout);
  exports.Set("histogramOf", Napi::Function::New(env, HistogramOf, "histogramOf"));
}

}  // namespace uvscope
