#pragma once

#include <napi.h>

namespace uvscope {
class Instance;

// What the running Node and libuv offer: exports `runtime()`.
void InitRuntime(Napi::Env env, Napi::Object exports, Instance* instance);

}  // namespace uvscope
