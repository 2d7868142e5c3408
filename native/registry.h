#pragma once

#include <memory>
#include <vector>

namespace uvscope {
struct LoopRecorder;

// Every loop recorder in the process (main thread and workers), so that any thread can
// read any other's numbers without messaging it. Process-wide by nature; guarded by a
// mutex that only registration and readers take, never the loop path.
//
// Retention: a recorder whose environment ended stays listed for kKeepEndedMs after its
// end (so a poller sees its final window), at most kMaxEnded of them; then it is dropped
// and freed once no reader holds it.
class Registry {
 public:
  static constexpr double kKeepEndedMs = 60000;
  static constexpr size_t kMaxEnded = 256;

  // Registers a recorder and gives it its serial (see LoopRecorder::serial).
  static void Add(std::shared_ptr<LoopRecorder> recorder);
  // The live recorders and the retained ended ones, oldest first.
  static std::vector<std::shared_ptr<LoopRecorder>> List();
};

}  // namespace uvscope
