#include "handle_walker.h"

#include <uv.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#ifndef _WIN32
#include <sys/socket.h>
#endif

#include "instance.h"

namespace uvscope {
namespace {

// handlesWalk() output: a header, then one record of kStride doubles per handle. Numbers
// that do not apply are NaN; a string is (offset, length) into the pool, length -1 = none.
constexpr size_t kHeader = 4;  // count, pool bytes needed, active requests, reserved
constexpr size_t kStride = 13;
enum Field : size_t {
  kType = 0,   // uv_handle_type
  kFlags,      // Flag bits
  kFd,         // uv_fileno, or NaN
  kA,          // tcp/udp: local port; tty: columns; timer: due in ms; process: pid; signal: signum
  kB,          // tcp/udp: remote port; tty: rows; timer: repeat ms
  kC,          // udp: send queue count
  kStr0,       // tcp/udp: local address; pipe: socket path; fs_event/fs_poll: path
  kStr0Len,
  kStr1,       // tcp/udp: remote address; pipe: peer path
  kStr1Len,
  kQueue,      // streams: write queue bytes; udp: send queue bytes
  kCookie,     // tcp: the socket's cookie (SO_COOKIE), or NaN
  kId,         // tcp: the handle's address, the key of the caller's cache, or NaN
};
static_assert(kId + 1 == kStride, "record layout");

enum Flag : uint32_t {
  kActive = 1,
  kReferenced = 2,
  kClosing = 4,
  kOwn = 8,
  kReadable = 16,
  kWritable = 32,
  kListening = 64,
  kLocalIPv6 = 128,
  kRemoteIPv6 = 256,
  kKnown = 512,  // tcp: the caller's cache holds this socket; endpoints and listening not read
};

enum Option : uint32_t {
  kIncludeOwn = 1,
  kReferencedOnly = 2,
  kKernel = 4,  // ask the kernel: endpoints, listening state, tty size (system calls)
};

// handlesCount() output: total, active, referenced, active requests, then a count per
// uv_handle_type value below kMaxTypes (larger values are counted in the last slot).
constexpr size_t kCountHeader = 4;
constexpr size_t kMaxTypes = 32;
constexpr size_t kCountSize = kCountHeader + kMaxTypes;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Addresses already in the pool during this walk: most sockets share a few, so each is
// written once and JavaScript decodes it once.
struct Interned {
  char text[46];  // INET6_ADDRSTRLEN
  size_t length;
  size_t offset;
};

// The caller's cache: TCP sockets whose endpoints it has from an earlier full listing, as
// (handle address, fd, cookie) triples in ascending address order.
constexpr size_t kKnownStride = 3;

struct Walk {
  static constexpr size_t kInterned = 8;
  const Instance* instance;
  const double* known = nullptr;
  size_t known_count = 0;  // triples
  uint32_t options;
  double* records;     // after the header
  size_t capacity;     // records that fit
  char* pool;
  size_t pool_size;
  size_t count = 0;
  size_t pool_used = 0;
  size_t pool_needed = 0;
  Interned interned[kInterned];
  size_t interned_count = 0;
  size_t interned_next = 0;  // round robin once full
};

struct Count {
  const Instance* instance;
  bool include_own;
  double* out;
};

void Commit(Walk& walk, double* record, size_t field, size_t length) {
  record[field] = static_cast<double>(walk.pool_used);
  record[field + 1] = static_cast<double>(length);
  walk.pool_used += length;
  walk.pool_needed += length;
}

void Missing(Walk& walk, size_t need) { walk.pool_needed += need; }

// A numeric address and port; never a name lookup.
void PutEndpoint(Walk& walk, double* record, uint32_t& flags, bool remote,
                 const sockaddr_storage& address) {
  char text[sizeof(Interned::text)];
  int err = UV_EINVAL;
  int port = 0;
  if (address.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
    err = uv_ip4_name(in, text, sizeof(text));
    port = ntohs(in->sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
    err = uv_ip6_name(in6, text, sizeof(text));
    port = ntohs(in6->sin6_port);
    if (err == 0) flags |= remote ? kRemoteIPv6 : kLocalIPv6;
  }
  if (err != 0) return;
  const size_t str_field = remote ? kStr1 : kStr0;
  record[remote ? kB : kA] = port;
  const size_t length = std::strlen(text);
  for (size_t i = 0; i < walk.interned_count; ++i) {
    const Interned& seen = walk.interned[i];
    if (seen.length == length && std::memcmp(seen.text, text, length) == 0) {
      record[str_field] = static_cast<double>(seen.offset);
      record[str_field + 1] = static_cast<double>(length);
      return;
    }
  }
  if (walk.pool_used + length > walk.pool_size) return Missing(walk, length);
  Interned& slot = walk.interned[walk.interned_count < Walk::kInterned ? walk.interned_count++
                                                                       : walk.interned_next++ % Walk::kInterned];
  std::memcpy(slot.text, text, length);
  slot.length = length;
  slot.offset = walk.pool_used;
  std::memcpy(walk.pool + walk.pool_used, text, length);
  Commit(walk, record, str_field, length);
}

template <typename Get>
void PutPath(Walk& walk, double* record, size_t field, Get get) {
  size_t room = walk.pool_size > walk.pool_used ? walk.pool_size - walk.pool_used : 0;
  char scratch[1];
  char* out = room > 0 ? walk.pool + walk.pool_used : scratch;
  size_t size = room > 0 ? room : sizeof(scratch);
  int err = get(out, &size);
  if (err == UV_ENOBUFS) return Missing(walk, size);
  if (err != 0 || size == 0) return;  // unbound or anonymous: no path
  if (room == 0) return Missing(walk, size + 1);
  // libuv writes a NUL after the path (except for Linux abstract sockets, whose path
  // starts with NUL); it is not part of the string.
  Commit(walk, record, field, size);
  walk.pool_needed += 1;  // keep room for the NUL on a second walk
}

// The socket's cookie as a double, or NaN where the kernel has none (or it is too large to
// be exact in a double).
double Cookie(uv_os_fd_t fd) {
#if defined(SO_COOKIE) && !defined(_WIN32)
  uint64_t cookie = 0;
  socklen_t length = sizeof(cookie);
  if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &length) == 0 && cookie != 0 &&
      cookie < (uint64_t{1} << 53)) {
    return static_cast<double>(cookie);
  }
#endif
  return kNaN;
}

// The handle's address as an exact double (the cache key), or NaN.
double Id(const uv_handle_t* handle) {
  const auto address = reinterpret_cast<uintptr_t>(handle);
  return address < (uintptr_t{1} << 53) ? static_cast<double>(address) : kNaN;
}

// A descriptor as the cache stores it (NaN where it is not a small integer).
double FdKey(uv_os_fd_t fd) {
#ifdef _WIN32
  (void)fd;
  return kNaN;
#else
  return static_cast<double>(fd);
#endif
}

// The cache's triple for this address, or null.
const double* Cached(const Walk& walk, double id) {
  size_t low = 0;
  size_t high = walk.known_count;
  while (low < high) {
    const size_t mid = low + (high - low) / 2;
    const double key = walk.known[mid * kKnownStride];
    if (key == id) return walk.known + mid * kKnownStride;
    if (key < id) low = mid + 1; else high = mid;
  }
  return nullptr;
}

bool Listening(uv_os_fd_t fd) {
#if defined(SO_ACCEPTCONN) && !defined(_WIN32)
  int value = 0;
  socklen_t length = sizeof(value);
  return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &length) == 0 && value != 0;
#else
  return false;
#endif
}

void TcpEndpoints(Walk& walk, uv_tcp_t* tcp, uv_os_fd_t fd, double* record, uint32_t& flags) {
  sockaddr_storage address;
  int length = sizeof(address);
  if (uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    PutEndpoint(walk, record, flags, false, address);
  }
#ifndef _WIN32
  // uv_listen() sets the stream's connection_cb after listen() succeeded, and nothing
  // else does (a private field, at a place libuv 1.x's ABI keeps): a server has no
  // peer, so neither getpeername (which fails) nor SO_ACCEPTCONN is asked.
  if (tcp->connection_cb != nullptr) {
    flags |= kListening;
    return;
  }
#endif
  length = sizeof(address);
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    PutEndpoint(walk, record, flags, true, address);
  } else if (Listening(fd)) {
    flags |= kListening;
  }
}

void Details(Walk& walk, uv_handle_t* handle, double* record, uint32_t& flags, bool has_fd,
             uv_os_fd_t fd) {
  switch (handle->type) {
    case UV_TIMER: {
      auto* timer = reinterpret_cast<uv_timer_t*>(handle);
      if (flags & kActive) record[kA] = static_cast<double>(uv_timer_get_due_in(timer));
      record[kB] = static_cast<double>(uv_timer_get_repeat(timer));
      return;
    }
    case UV_PROCESS:
      record[kA] = uv_process_get_pid(reinterpret_cast<uv_process_t*>(handle));
      return;
    case UV_SIGNAL: {
      int signum = reinterpret_cast<uv_signal_t*>(handle)->signum;
      if (signum != 0) record[kA] = signum;
      return;
    }
    case UV_FS_EVENT:
      if (!(flags & kActive)) return;
      return PutPath(walk, record, kStr0, [handle](char* out, size_t* size) {
        return uv_fs_event_getpath(reinterpret_cast<uv_fs_event_t*>(handle), out, size);
      });
    case UV_FS_POLL:
      if (!(flags & kActive)) return;
      return PutPath(walk, record, kStr0, [handle](char* out, size_t* size) {
        return uv_fs_poll_getpath(reinterpret_cast<uv_fs_poll_t*>(handle), out, size);
      });
    default:
      break;
  }
  if (handle->type == UV_TCP || handle->type == UV_NAMED_PIPE || handle->type == UV_TTY) {
    auto* stream = reinterpret_cast<uv_stream_t*>(handle);
    record[kQueue] = static_cast<double>(uv_stream_get_write_queue_size(stream));
    if (uv_is_readable(stream)) flags |= kReadable;
    if (uv_is_writable(stream)) flags |= kWritable;
  }
  if (handle->type == UV_UDP) {
    auto* udp = reinterpret_cast<uv_udp_t*>(handle);
    record[kQueue] = static_cast<double>(uv_udp_get_send_queue_size(udp));
    record[kC] = static_cast<double>(uv_udp_get_send_queue_count(udp));
  }
  // Closed, closing or never opened, or the caller wants no system call: nothing more.
  if (!has_fd || !(walk.options & kKernel)) return;
  switch (handle->type) {
    case UV_TCP: {
      auto* tcp = reinterpret_cast<uv_tcp_t*>(handle);
      const double id = Id(handle);
      record[kId] = id;
      if (const double* cached = std::isnan(id) ? nullptr : Cached(walk, id);
          cached != nullptr && cached[1] == FdKey(fd)) {
        // Probably the socket the cache describes; Confirm() decides after the walk.
        record[kCookie] = cached[2];
        flags |= kKnown;
        return;
      }
      record[kCookie] = Cookie(fd);
      return TcpEndpoints(walk, tcp, fd, record, flags);
    }
    case UV_UDP: {
      auto* udp = reinterpret_cast<uv_udp_t*>(handle);
      sockaddr_storage address;
      int length = sizeof(address);
      if (uv_udp_getsockname(udp, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
        PutEndpoint(walk, record, flags, false, address);
      }
      length = sizeof(address);
      if (uv_udp_getpeername(udp, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
        PutEndpoint(walk, record, flags, true, address);
      }
      return;
    }
    case UV_NAMED_PIPE: {
      auto* pipe = reinterpret_cast<uv_pipe_t*>(handle);
      PutPath(walk, record, kStr0,
              [pipe](char* out, size_t* size) { return uv_pipe_getsockname(pipe, out, size); });
      PutPath(walk, record, kStr1,
              [pipe](char* out, size_t* size) { return uv_pipe_getpeername(pipe, out, size); });
      if (record[kStr1Len] < 0 && Listening(fd)) flags |= kListening;
      return;
    }
    case UV_TTY: {
      int width = 0;
      int height = 0;
      if (uv_tty_get_winsize(reinterpret_cast<uv_tty_t*>(handle), &width, &height) == 0) {
        record[kA] = width;
        record[kB] = height;
      }
      return;
    }
    default:
      return;
  }
}

void OnHandle(uv_handle_t* handle, void* arg) {
  Walk& walk = *static_cast<Walk*>(arg);
  const bool own = walk.instance->IsOwn(handle);
  if (own && !(walk.options & kIncludeOwn)) return;
  const bool active = uv_is_active(handle) != 0;
  const bool referenced = uv_has_ref(handle) != 0;
  if ((walk.options & kReferencedOnly) && !(active && referenced)) return;
  const size_t index = walk.count++;
  if (index >= walk.capacity) return;  // counted; the caller grows its buffer and walks again

  double* record = walk.records + index * kStride;
  uint32_t flags = 0;
  if (active) flags |= kActive;
  if (referenced) flags |= kReferenced;
  if (uv_is_closing(handle)) flags |= kClosing;
  if (own) flags |= kOwn;
  for (size_t i = kFd; i < kStride; ++i) record[i] = kNaN;
  record[kStr0Len] = -1;
  record[kStr1Len] = -1;
  record[kType] = static_cast<double>(handle->type);

  // uv_fileno fails for closing handles and for types without a descriptor.
  uv_os_fd_t fd;
  const bool has_fd = uv_fileno(handle, &fd) == 0;
#ifndef _WIN32
  if (has_fd) record[kFd] = fd;
#endif
  Details(walk, handle, record, flags, has_fd, fd);
  record[kFlags] = flags;
}

// Which cache matches hold. libuv appends every new handle to the loop's queue and uv_walk
// keeps its order, so a handle met before one that is provably the cached socket (its
// cookie, never reused, still matches) was in the queue when the cache was filled: the
// same handle at that address, whose connected or listening socket kept its endpoints.
// So one getsockopt confirms every match up to the last good one; a match after it (a new
// handle at a freed address that got a freed descriptor) is read in full.
// The matches are the records flagged kKnown, found from the last record back: no list of
// them is kept (a listing allocates nothing). A match's handle is the one at its id and its
// descriptor the one in its record: the walk met it alive just now, and nothing ran since.
// (Only where a descriptor is a cache key: FdKey() never matches on Windows.)
void Confirm(Walk& walk) {
#ifndef _WIN32
  for (size_t i = walk.count; i-- > 0;) {
    double* record = walk.records + i * kStride;
    auto flags = static_cast<uint32_t>(record[kFlags]);
    if (!(flags & kKnown)) continue;
    const auto fd = static_cast<uv_os_fd_t>(record[kFd]);
    const double cookie = Cookie(fd);
    if (cookie == record[kCookie]) return;
    flags &= ~static_cast<uint32_t>(kKnown);
    record[kCookie] = cookie;
    TcpEndpoints(walk, reinterpret_cast<uv_tcp_t*>(static_cast<uintptr_t>(record[kId])), fd, record, flags);
    record[kFlags] = flags;
  }
#else
  (void)walk;
#endif
}

void OnHandleCount(uv_handle_t* handle, void* arg) {
  Count& count = *static_cast<Count*>(arg);
  if (!count.include_own && count.instance->IsOwn(handle)) return;
  const bool active = uv_is_active(handle) != 0;
  count.out[0] += 1;
  if (active) count.out[1] += 1;
  if (active && uv_has_ref(handle)) count.out[2] += 1;
  size_t type = static_cast<size_t>(handle->type);
  count.out[kCountHeader + (type < kMaxTypes ? type : kMaxTypes - 1)] += 1;
}

bool IsTypedArray(const Napi::Value& value, napi_typedarray_type type) {
  return value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == type;
}

Napi::Value Fail(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return {};
}

// handlesWalk(records: Float64Array, pool: Uint8Array, options: number, known: Float64Array): void
Napi::Value WalkHandles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !IsTypedArray(info[0], napi_float64_array) ||
      !IsTypedArray(info[1], napi_uint8_array) || !info[2].IsNumber() ||
      !IsTypedArray(info[3], napi_float64_array)) {
    return Fail(env, "uvscope: handlesWalk(records: Float64Array, pool: Uint8Array, options: number, known: Float64Array)");
  }
  auto records = info[0].As<Napi::Float64Array>();
  auto pool = info[1].As<Napi::Uint8Array>();
  if (records.ElementLength() < kHeader) return Fail(env, "uvscope: records must hold the header");
  const auto* instance = static_cast<const Instance*>(info.Data());
  uv_loop_t* loop = instance->loop();

  Walk walk{};
  walk.instance = instance;
  walk.options = info[2].As<Napi::Number>().Uint32Value();
  walk.records = records.Data() + kHeader;
  walk.capacity = (records.ElementLength() - kHeader) / kStride;
  walk.pool = reinterpret_cast<char*>(pool.Data());
  walk.pool_size = pool.ElementLength();
  auto known = info[3].As<Napi::Float64Array>();
  if (known.ElementLength() % kKnownStride != 0) return Fail(env, "uvscope: known must hold (address, fd, cookie) triples");
  walk.known = known.Data();
  walk.known_count = known.ElementLength() / kKnownStride;
  // The lookup is a binary search: check the order so that it cannot misread.
  for (size_t i = 1; i < walk.known_count; ++i) {
    if (!(walk.known[(i - 1) * kKnownStride] < walk.known[i * kKnownStride])) {
      return Fail(env, "uvscope: known addresses must ascend");
    }
  }
  uv_walk(loop, OnHandle, &walk);
  if (walk.count <= walk.capacity) Confirm(walk);

  double* header = records.Data();
  header[0] = static_cast<double>(walk.count);
  header[1] = static_cast<double>(walk.pool_needed);
  header[2] = static_cast<double>(loop->active_reqs.count);
  header[3] = 0;
  return env.Undefined();
}

// handlesCount(out: Float64Array, includeOwn: boolean): void
Napi::Value CountHandles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !IsTypedArray(info[0], napi_float64_array) || !info[1].IsBoolean()) {
    return Fail(env, "uvscope: handlesCount(out: Float64Array, includeOwn: boolean)");
  }
  auto out = info[0].As<Napi::Float64Array>();
  if (out.ElementLength() < kCountSize) return Fail(env, "uvscope: out is too short");
  const auto* instance = static_cast<const Instance*>(info.Data());
  Count count{instance, info[1].As<Napi::Boolean>().Value(), out.Data()};
  std::fill(out.Data(), out.Data() + kCountSize, 0.0);
  uv_walk(instance->loop(), OnHandleCount, &count);
  out[3] = static_cast<double>(instance->loop()->active_reqs.count);
  return env.Undefined();
}

}  // namespace

void InitHandleWalker(Napi::Env env, Napi::Object exports, Instance* instance) {
  exports.Set("handlesWalk", Napi::Function::New(env, WalkHandles, "handlesWalk", instance));
  exports.Set("handlesCount", Napi::Function::New(env, CountHandles, "handlesCount", instance));

  // The type names of the running libuv (not of the headers this was built with), so a
  // handle type added later is still reported by its name.
  Napi::Array names = Napi::Array::New(env, kMaxTypes);
  for (size_t i = 0; i < kMaxTypes; ++i) {
    const char* name = uv_handle_type_name(static_cast<uv_handle_type>(i));
    names.Set(static_cast<uint32_t>(i), name != nullptr ? Napi::Value(Napi::String::New(env, name))
                                                        : Napi::Value(env.Null()));
  }
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("header", Napi::Number::New(env, kHeader));
  layout.Set("stride", Napi::Number::New(env, kStride));
  layout.Set("countHeader", Napi::Number::New(env, kCountHeader));
  layout.Set("countSize", Napi::Number::New(env, kCountSize));
  layout.Set("typeNames", names);
  // Field offsets and bits, so the JavaScript decoder can check its own copy at load.
  Napi::Object fields = Napi::Object::New(env);
  const std::pair<const char*, size_t> field_list[] = {
      {"type", kType}, {"flags", kFlags}, {"fd", kFd},     {"a", kA},
      {"b", kB},       {"c", kC},         {"str0", kStr0}, {"str0Len", kStr0Len},
      {"str1", kStr1}, {"str1Len", kStr1Len}, {"queue", kQueue},  {"cookie", kCookie},
      {"id", kId}};
  for (const auto& [name, value] : field_list) fields.Set(name, Napi::Number::New(env, value));
  layout.Set("fields", fields);
  Napi::Object bits = Napi::Object::New(env);
  const std::pair<const char*, uint32_t> bit_list[] = {
      {"active", kActive},       {"referenced", kReferenced}, {"closing", kClosing},
      {"own", kOwn},             {"readable", kReadable},     {"writable", kWritable},
      {"listening", kListening}, {"localIPv6", kLocalIPv6},   {"remoteIPv6", kRemoteIPv6},
      {"known", kKnown},
      {"includeOwn", kIncludeOwn}, {"referencedOnly", kReferencedOnly}, {"kernel", kKernel}};
  for (const auto& [name, value] : bit_list) bits.Set(name, Napi::Number::New(env, value));
  layout.Set("bits", bits);
  exports.Set("handlesLayout", layout);
}

}  // namespace uvscope
