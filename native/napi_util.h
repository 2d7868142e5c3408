#pragma once

#include <napi.h>

#include <cstddef>

namespace uvscope {

// Every Node-API call that creates a value or calls into JavaScript can fail: V8 refuses
// an allocation (a worker at its resourceLimits heap limit), an exception is pending, or
// the environment is being torn down (a worker being terminate()d refuses everything).
// node-addon-api, built without C++ exceptions, then returns an empty wrapper (a typed
// array with a null Data()), so each such result is checked before use and the call
// returns an empty value at once: nothing is written through it and nothing more is
// created.
inline bool Failed(const Napi::Value& value) { return value.IsEmpty(); }

// The argument at `index` as a Float64Array of at least `min_length` elements. Otherwise
// throws a TypeError or RangeError naming `name` and returns false.
inline bool Float64ArrayArg(const Napi::CallbackInfo& info, size_t index, const char* name, size_t min_length,
                            Napi::Float64Array* out) {
  Napi::Env env = info.Env();
  if (info.Length() <= index || !info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    Napi::TypeError::New(env, std::string("uvscope: ") + name + " must be a Float64Array").ThrowAsJavaScriptException();
    return false;
  }
  *out = info[index].As<Napi::Float64Array>();
  if (out->ElementLength() < min_length) {
    Napi::RangeError::New(env, std::string("uvscope: ") + name + " must hold at least " + std::to_string(min_length) +
                                   " elements")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// Exports `Method` of `object` as exports[name]: the object is the function's data, so the
// call reaches the right environment's component without a lookup.
template <typename T, Napi::Value (T::*Method)(const Napi::CallbackInfo&)>
void ExportMethod(Napi::Env env, Napi::Object exports, const char* name, T* object) {
  exports.Set(name, Napi::Function::New(
                        env, [](const Napi::CallbackInfo& info) { return (static_cast<T*>(info.Data())->*Method)(info); },
                        name, object));
}

}  // namespace uvscope
