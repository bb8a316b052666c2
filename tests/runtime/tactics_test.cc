#include "runtime/tactics.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "convert/convert_test_util.h"
#include "engine/segment_compiler.h"
#include "ir/op_registry.h"

namespace kiln::runtime {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(TacticCacheTest, ChoicesOutliveTheProcessInTheFile) {
  testing::TempDir tmp("tactics");
  const std::string file = tmp.path("cache/tactics-gpu.tsv");  // the directory is made when needed
  {
    TacticCache cache(file);
    EXPECT_FALSE(cache.Find("conv a").has_value());
    cache.Record("conv a", "1 0 4096");
    cache.Record("gemm b", "00ff 0");
    cache.Record("conv a", "2 1 0");  // chosen again: the later line wins
    EXPECT_EQ(cache.Find("conv a"), "2 1 0");
  }
  TacticCache again(file);
  EXPECT_EQ(again.Find("conv a"), "2 1 0");
  EXPECT_EQ(again.Find("gemm b"), "00ff 0");
}

TEST(TacticCacheTest, TornAndForeignLinesAreSkipped) {
  testing::TempDir tmp("tactics_bad");
  const std::string file = tmp.path("t.tsv");
  std::ofstream(file) << "no tab here\n\tvalue without key\nkey without value\t\ngood\t7\ntorn\t";
  TacticCache cache(file);
  EXPECT_EQ(cache.Find("good"), "7");
  EXPECT_FALSE(cache.Find("no tab here").has_value());
  EXPECT_FALSE(cache.Find("key without value").has_value());
  EXPECT_FALSE(cache.Find("").has_value());
  EXPECT_FALSE(cache.Find("torn").has_value());
}

TEST(TacticCacheTest, UnstorableChoicesAndEngineTacticsStayOffDisk) {
  testing::TempDir tmp("tactics_off");
  const std::string file = tmp.path("t.tsv");
  TacticCache cache(file);
  cache.Record("key\twith tab", "1");
  cache.Record("key", "two\nlines");
  EXPECT_FALSE(cache.Find("key").has_value());
  cache.Add({{"from engine", "5"}});
  EXPECT_EQ(cache.Find("from engine"), "5");
  EXPECT_EQ(Read(file), "");
  TacticCache memory_only("");
  memory_only.Record("k", "v");
  EXPECT_EQ(memory_only.Find("k"), "v");
}

TEST(TacticCacheTest, RecordersSeeWhatTheirThreadUsedWhileTheyLived) {
  EXPECT_FALSE(RecordingTactics());
  TacticRecorder outer;
  NoteTacticUse("before", "1");
  {
    TacticRecorder inner;
    EXPECT_TRUE(RecordingTactics());
    NoteTacticUse("during", "2");
    EXPECT_EQ(inner.tactics(), (Tactics{{"during", "2"}}));
  }
  EXPECT_EQ(outer.tactics(), (Tactics{{"before", "1"}, {"during", "2"}}));
}

TEST(TacticCacheTest, TheCacheDirectoryFollowsTheEnvironment) {
  const char* saved = std::getenv("KILN_CACHE_DIR");
  const std::string restore = saved ? saved : "";
  setenv("KILN_CACHE_DIR", "/tmp/kiln-cache-test", 1);
  EXPECT_EQ(TimingCacheDir(), "/tmp/kiln-cache-test");
  setenv("KILN_CACHE_DIR", "off", 1);
  EXPECT_EQ(TimingCacheDir(), "");
  unsetenv("KILN_CACHE_DIR");
  setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  EXPECT_EQ(TimingCacheDir(), "/tmp/xdg/kiln");
  unsetenv("XDG_CACHE_HOME");
  if (saved != nullptr) setenv("KILN_CACHE_DIR", restore.c_str(), 1);
}

// Engine payloads carry their settings (tactics, TF32); payloads without them (older files) still read.
TEST(TacticCacheTest, EnginePayloadsCarryTheirSettings) {
  ir::Graph g;
  ir::AttrMap pa;
  pa.Set("dtype", DType::kFloat32);
  pa.Set("shape", PartialShape::Known({2, 3}));
  ir::Node* x = g.AddNode("x", "Placeholder", {}, pa, 1);
  g.inputs().push_back({"x", {x->id, 0}});
  ir::Node* r = g.AddNode("r", "Relu", {{x->id, 0}}, {}, 1);
  g.outputs().push_back({"y", {r->id, 0}});
  KILN_ASSERT_OK(ir::InferShapes(g));
  const engine::EngineSettings settings{{{"cudnn-conv fwd 1 2", "3 1 0"}, {"cublaslt 0 8", "abcd 0"}}, true};
  KILN_ASSERT_OK_AND_ASSIGN(std::string payload, engine::SerializeGraph(g, "cuda", settings));
  engine::EngineSettings back;
  KILN_ASSERT_OK_AND_ASSIGN(ir::Graph read, engine::DeserializeGraph(payload, "cuda", &back));
  EXPECT_EQ(back.tactics, settings.tactics);
  EXPECT_TRUE(back.allow_tf32);
  EXPECT_EQ(read.OpCounts(), g.OpCounts());
  KILN_ASSERT_OK_AND_ASSIGN(std::string plain, engine::SerializeGraph(g, "cuda"));
  engine::EngineSettings none;
  KILN_ASSERT_OK(engine::DeserializeGraph(plain, "cuda", &none).status());
  EXPECT_TRUE(none.tactics.empty());
  EXPECT_FALSE(none.allow_tf32);
}

}  // namespace
}  // namespace kiln::runtime
