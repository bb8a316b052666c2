#pragma once
// Warnings the library reports without failing (an engine that had to be rebuilt, a segment that
// fell back to its native ops). They go to stderr unless a sink is installed.

#include <functional>
#include <string>

namespace kiln {

using LogSink = std::function<void(const std::string& message)>;

// Reports `message` as a warning: "kiln warning: <message>" on stderr, or to the sink.
void LogWarning(const std::string& message);

// Replaces where warnings go; an empty sink restores stderr. Returns the previous sink.
LogSink SetLogSink(LogSink sink);

}  // namespace kiln
