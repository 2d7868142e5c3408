#include "registry.h"

#include <uv.h>

#include <algorithm>
#include <mutex>

#include "loop_probe.h"

namespace uvscope {
namespace {

struct State {
  std::mutex mutex;
  std::vector<std::shared_ptr<LoopRecorder>> recorders;
  uint64_t next_serial = 1;
};

// Never destroyed: workers may still be tearing down while the process exits.
State& Global() {
  static State* state = new State();
  return *state;
}

// Drops ended recorders past retention. Caller holds the registry mutex.
void Prune(std::vector<std::shared_ptr<LoopRecorder>>& recorders) {
  const uint64_t now = uv_hrtime();
  size_t ended = 0;
  for (auto it = recorders.rbegin(); it != recorders.rend(); ++it) {
    std::lock_guard<std::mutex> lock((*it)->mutex);
    if ((*it)->ended) ++ended;
  }
  recorders.erase(
      std::remove_if(recorders.begin(), recorders.end(),
                     [&](const std::shared_ptr<LoopRecorder>& r) {
                       std::lock_guard<std::mutex> lock(r->mutex);
                       if (!r->ended) return false;
                       // A thread may end after `now` was taken: unsigned now - end would
                       // wrap and drop it at once.
                       const bool expired = r->end_hr_ns < now &&
                                            static_cast<double>(now - r->end_hr_ns) / 1e6 > Registry::kKeepEndedMs;
                       if (expired || ended > Registry::kMaxEnded) {
                         --ended;
                         return true;
                       }
                       return false;
                     }),
      recorders.end());
}

}  // namespace

void Registry::Add(std::shared_ptr<LoopRecorder> recorder) {
  State& state = Global();
  std::lock_guard<std::mutex> lock(state.mutex);
  Prune(state.recorders);
  recorder->serial = state.next_serial++;  // before any reader can see it
  state.recorders.push_back(std::move(recorder));
}

std::vector<std::shared_ptr<LoopRecorder>> Registry::List() {
  State& state = Global();
  std::lock_guard<std::mutex> lock(state.mutex);
  Prune(state.recorders);
  return state.recorders;
}

}  // namespace uvscope
