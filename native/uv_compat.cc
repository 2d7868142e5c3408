#include "uv_compat.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace uvscope {
namespace {

void* FindSymbol(const char* name) {
#ifdef _WIN32
  return reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(nullptr), name));
#else
  return dlsym(RTLD_DEFAULT, name);
#endif
}

UvCompat Resolve() {
  UvCompat uv{};
  uv.version = uv_version();
  // Only trust the symbol where the running libuv is new enough to define it.
  if (uv.version >= 0x012D00) {
    uv.metrics_info =
        reinterpret_cast<int (*)(uv_loop_t*, UvMetrics*)>(FindSymbol("uv_metrics_info"));
  }
  return uv;
}

}  // namespace

const UvCompat& Uv() {
  static const UvCompat uv = Resolve();
  return uv;
}

}  // namespace uvscope
