#include "runtime/tactics.h"

#include <cstdlib>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>

#include "cuda/cuda_api.h"

namespace kiln::runtime {
namespace {

thread_local TacticRecorder* current_recorder = nullptr;

bool Storable(const std::string& s) { return !s.empty() && s.find_first_of("\t\n\r") == std::string::npos; }

// A file name from the GPU's name and versions: letters, digits, '.', '-' and '_' only.
std::string CacheFileName(const cuda::GpuFacts& facts) {
  std::string name = "tactics-" + facts.name + "-sm" + facts.compute_capability;
  for (const auto& [lib, version] : facts.versions) name += "-" + lib + version;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  return name + ".tsv";
}

TacticCache& CacheOf(int device) {
  static std::mutex mu;
  static auto* caches = new std::map<int, std::unique_ptr<TacticCache>>();
  std::lock_guard<std::mutex> lock(mu);
  auto& cache = (*caches)[device];
  if (cache == nullptr) {
    const std::string dir = TimingCacheDir();
    auto facts = cuda::GetGpuFacts(device);
    std::string file;
    if (!dir.empty() && facts.ok()) file = (std::filesystem::path(dir) / CacheFileName(*facts)).string();
    cache = std::make_unique<TacticCache>(file);
  }
  return *cache;
}

}  // namespace

bool RecordingTactics() { return current_recorder != nullptr; }

void NoteTacticUse(const std::string& key, const std::string& value) {
  for (TacticRecorder* r = current_recorder; r != nullptr; r = r->outer_) r->tactics_[key] = value;
}

TacticCache::TacticCache(std::string file) : file_(std::move(file)) {
  if (file_.empty()) return;
  std::ifstream in(file_);
  std::string line;
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;  // a torn or foreign line
    std::string key = line.substr(0, tab), value = line.substr(tab + 1);
    if (Storable(key) && Storable(value)) tactics_[std::move(key)] = std::move(value);
  }
}

std::optional<std::string> TacticCache::Find(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tactics_.find(key);
  if (it == tactics_.end()) return std::nullopt;
  return it->second;
}

void TacticCache::Record(const std::string& key, const std::string& value) {
  if (!Storable(key) || !Storable(value)) return;
  std::lock_guard<std::mutex> lock(mu_);
  tactics_[key] = value;
  if (file_.empty()) return;
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(file_).parent_path(), ignored);
  std::ofstream out(file_, std::ios::app);
  out << key << '\t' << value << '\n';  // one short append: concurrent builds do not tear lines
}

void TacticCache::Add(const Tactics& tactics) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, value] : tactics) {
    if (Storable(key) && Storable(value)) tactics_.emplace(key, value);
  }
}

std::optional<std::string> FindTactic(int device, const std::string& key) {
  std::optional<std::string> found = CacheOf(device).Find(key);
  if (found) NoteTacticUse(key, *found);
  return found;
}

void RecordTactic(int device, const std::string& key, const std::string& value) {
  CacheOf(device).Record(key, value);
  NoteTacticUse(key, value);
}

void AddTactics(int device, const Tactics& tactics) { CacheOf(device).Add(tactics); }

TacticRecorder::TacticRecorder() : outer_(current_recorder) { current_recorder = this; }
TacticRecorder::~TacticRecorder() { current_recorder = outer_; }

std::string TimingCacheDir() {
  if (const char* dir = std::getenv("KILN_CACHE_DIR"); dir != nullptr && *dir != '\0') {
    return std::string(dir) == "off" ? "" : dir;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return (std::filesystem::path(xdg) / "kiln").string();
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return (std::filesystem::path(home) / ".cache" / "kiln").string();
  }
  return "";
}

}  // namespace kiln::runtime
