#include "runtime.h"

#include "instance.h"
#include "napi_util.h"
#include "uv_compat.h"

namespace uvscope {
namespace {

Napi::Value Runtime(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* instance = static_cast<Instance*>(info.Data());
  const UvCompat& uv = Uv();

  Napi::Object out = Napi::Object::New(env);
  if (Failed(out) || !out.Set("uvVersion", Napi::String::New(env, uv_version_string())) ||
      !out.Set("uvVersionHex", Napi::Number::New(env, uv.version)) ||
      !out.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION)) ||
      !out.Set("metricsInfo", Napi::Boolean::New(env, uv.metrics_info != nullptr)) ||
      !out.Set("mainLoop", Napi::Boolean::New(env, instance->loop() == uv_default_loop()))) {
    return {};
  }
  return out;
}

}  // namespace

void InitRuntime(Napi::Env env, Napi::Object exports, Instance* instance) {
  exports.Set("runtime", Napi::Function::New(env, Runtime, "runtime", instance));
}

}  // namespace uvscope
