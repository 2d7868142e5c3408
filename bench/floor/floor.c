// The floor under any libuv-level loop probe: three empty callbacks per iteration, placed as
// uvscope places its own (one prepare, two checks), in an addon of their own. What this costs
// per iteration on a given Node is what the loop itself charges for calling into an addon;
// bench/loop-overhead.mjs shows it beside uvscope and Datadog. Bench use only: the handles
// are unref'd and live until the process exits.
//
// For bench/loop-toggle.mjs it can also stop and restart the loop callbacks of another addon
// (uvscope's, Datadog's): the prepare and check handles whose callback lies in a shared object
// whose path contains a given string, started again with the same callback, so one process
// measures every probe with one code layout and no process-to-process noise. Unix only
// (dladdr and the handles' callback fields).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <node_api.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <uv.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

static uv_prepare_t prepare;
static uv_check_t check_start;
static uv_check_t check_end;
static int initialized;

static void OnPrepare(uv_prepare_t* handle) { (void)handle; }
static void OnCheck(uv_check_t* handle) { (void)handle; }

// The same callbacks each taking a stamp of the counter uvscope's clock reads and adding the
// time since the previous stamp to that phase's total: three stamps and three durations an
// iteration, the least any probe with exact phase boundaries does.
static unsigned long long Counter(void) {
#if defined(__x86_64__)
  return __rdtsc();
#elif defined(__aarch64__)
  unsigned long long value;
  __asm__ volatile("mrs %0, cntvct_el0" : "=r"(value));
  return value;
#else
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec;
#endif
}
static unsigned long long last_stamp;
static volatile unsigned long long phase_total[3];
static void Stamp(int phase) {
  const unsigned long long now = Counter();
  phase_total[phase] += now - last_stamp;
  last_stamp = now;
}
static void OnPrepareStamp(uv_prepare_t* handle) { (void)handle; Stamp(0); }
static void OnCheckStartStamp(uv_check_t* handle) { (void)handle; Stamp(1); }
static void OnCheckEndStamp(uv_check_t* handle) { (void)handle; Stamp(2); }

// start(stamps?): the three callbacks, empty or (stamps true) taking stamps.
static napi_value Start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  bool stamps = false;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok) return NULL;
  if (argc >= 1) napi_get_value_bool(env, arg, &stamps);
  uv_loop_t* loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  if (!initialized) {
    uv_prepare_init(loop, &prepare);
    uv_check_init(loop, &check_start);
    uv_check_init(loop, &check_end);
    uv_unref((uv_handle_t*)&prepare);
    uv_unref((uv_handle_t*)&check_start);
    uv_unref((uv_handle_t*)&check_end);
    initialized = 1;
  }
  uv_prepare_start(&prepare, stamps ? OnPrepareStamp : OnPrepare);
  uv_check_start(&check_start, stamps ? OnCheckStartStamp : OnCheck);
  uv_check_start(&check_end, stamps ? OnCheckEndStamp : OnCheck);
  return NULL;
}

static napi_value Stop(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  if (!initialized) return NULL;
  uv_prepare_stop(&prepare);
  uv_check_stop(&check_start);
  uv_check_stop(&check_end);
  return NULL;
}

#define MAX_PAUSED 16
static struct {
  uv_handle_t* handle;
  void (*cb)(void);
  int group;
} paused[MAX_PAUSED];
static int paused_count;
static int next_group;
static char target[256];

static void (*CallbackOf(uv_handle_t* handle))(void) {
  if (handle->type == UV_PREPARE) return (void (*)(void))((uv_prepare_t*)handle)->prepare_cb;
  if (handle->type == UV_CHECK) return (void (*)(void))((uv_check_t*)handle)->check_cb;
  return NULL;
}

static void Collect(uv_handle_t* handle, void* arg) {
  (void)arg;
  void (*cb)(void) = CallbackOf(handle);
  Dl_info where;
  if (cb == NULL || !uv_is_active(handle) || paused_count == MAX_PAUSED) return;
  if (dladdr((void*)cb, &where) == 0 || where.dli_fname == NULL || strstr(where.dli_fname, target) == NULL) return;
  paused[paused_count].handle = handle;
  paused[paused_count].cb = cb;
  paused[paused_count].group = next_group;
  paused_count++;
}

static void StopHandle(int i) {
  if (paused[i].handle->type == UV_PREPARE) uv_prepare_stop((uv_prepare_t*)paused[i].handle);
  else uv_check_stop((uv_check_t*)paused[i].handle);
}

// collect(pathPart): a group id for that addon's active prepare and check handles (found
// once, while they run), or -1 when it has none.
static napi_value CollectGroup(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  uv_loop_t* loop = NULL;
  size_t length = 0;
  napi_value result;
  const int before = paused_count;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok || argc < 1) return NULL;
  if (napi_get_value_string_utf8(env, arg, target, sizeof target, &length) != napi_ok) return NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  uv_walk(loop, Collect, NULL);
  napi_create_int32(env, paused_count > before ? next_group++ : -1, &result);
  return result;
}

// pause(group) stops the group's handles; resume(group) starts them again with their own
// callbacks. libuv starts a handle at the head of its queue; uvscope puts its checks back in
// their order at its next prepare.
static napi_value Toggle(napi_env env, napi_callback_info info, int on) {
  size_t argc = 1;
  napi_value arg;
  int32_t group = -1;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok || argc < 1) return NULL;
  if (napi_get_value_int32(env, arg, &group) != napi_ok) return NULL;
  for (int i = paused_count - 1; i >= 0; i--) {
    if (paused[i].group != group) continue;
    if (!on) StopHandle(i);
    else if (paused[i].handle->type == UV_PREPARE) uv_prepare_start((uv_prepare_t*)paused[i].handle, (uv_prepare_cb)paused[i].cb);
    else uv_check_start((uv_check_t*)paused[i].handle, (uv_check_cb)paused[i].cb);
  }
  return NULL;
}

static napi_value Pause(napi_env env, napi_callback_info info) { return Toggle(env, info, 0); }
static napi_value Resume(napi_env env, napi_callback_info info) { return Toggle(env, info, 1); }

// counterReadNs(): ns per read of the counter uvscope's clock reads on this machine (the TSC
// on x86-64, the generic timer on arm64; clock_gettime elsewhere), over 4M reads.
static napi_value CounterReadNs(napi_env env, napi_callback_info info) {
  (void)info;
  enum { kReads = 4000000 };
  struct timespec t0, t1;
  unsigned long long sink = 0;
  napi_value result;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < kReads; i++) {
#if defined(__x86_64__)
    sink += __rdtsc();
#elif defined(__aarch64__)
    unsigned long long value;
    __asm__ volatile("mrs %0, cntvct_el0" : "=r"(value));
    sink += value;
#else
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    sink += (unsigned long long)t.tv_nsec;
#endif
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  const double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / kReads;
  napi_create_double(env, sink == 42 ? ns + 1e-9 : ns, &result);  // keeps the reads
  return result;
}

static int Export(napi_env env, napi_value exports, const char* name, napi_callback fn) {
  napi_value value;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &value) != napi_ok) return 0;
  return napi_set_named_property(env, exports, name, value) == napi_ok;
}

NAPI_MODULE_INIT() {
  if (!Export(env, exports, "start", Start) || !Export(env, exports, "stop", Stop) ||
      !Export(env, exports, "collect", CollectGroup) || !Export(env, exports, "pause", Pause) ||
      !Export(env, exports, "resume", Resume) || !Export(env, exports, "counterReadNs", CounterReadNs)) {
    return NULL;
  }
  return exports;
}
