#pragma once

#include <napi.h>

namespace uvscope {
class Instance;

// Exports `histogramLayout` (the bucket layout lib/distribution.ts decodes) and
// `histogramOf(values)`, which records a Float64Array of values into a fresh histogram
// and returns its CopyTo() image: the same code path the probes use, for tests.
void InitHistogram(Napi::Env env, Napi::Object exports, Instance* instance);

}  // namespace uvscope
