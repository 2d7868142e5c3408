// The floor under any libuv-level loop probe: three empty callbacks per iteration, placed as
// uvscope places its own (one prepare, two checks), in an addon of their own. What this costs
// per iteration on a given Node is what the loop itself charges for calling into an addon;
// bench/loop-overhead.mjs shows it beside uvscope and Datadog. Bench use only: the handles
// are unref'd and live until the process exits.
#include <node_api.h>
#include <uv.h>

static uv_prepare_t prepare;
static uv_check_t check_start;
static uv_check_t check_end;

static void OnPrepare(uv_prepare_t* handle) { (void)handle; }
static void OnCheck(uv_check_t* handle) { (void)handle; }

static napi_value Start(napi_env env, napi_callback_info info) {
  (void)info;
  uv_loop_t* loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  uv_prepare_init(loop, &prepare);
  uv_prepare_start(&prepare, OnPrepare);
  uv_unref((uv_handle_t*)&prepare);
  uv_check_init(loop, &check_start);
  uv_check_start(&check_start, OnCheck);
  uv_unref((uv_handle_t*)&check_start);
  uv_check_init(loop, &check_end);
  uv_check_start(&check_end, OnCheck);
  uv_unref((uv_handle_t*)&check_end);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "start", NAPI_AUTO_LENGTH, Start, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "start", fn) != napi_ok) return NULL;
  return exports;
}
