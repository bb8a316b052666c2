#include "frontends/savedmodel/tensor_bundle.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "frontends/savedmodel/crc32c.h"
#include "proto/saved_object_graph.pb.h"
#include "table_writer.h"
#include "util/test_util.h"

namespace kiln::savedmodel {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::WriteFile;

std::string CaseDir(const std::string& name) { return kiln::testing::FixturePath("bundles/" + name); }
std::string CasePrefix(const std::string& name) { return CaseDir(name) + "/variables/variables"; }

// One tensor of expected.txt (see scripts/fixtures/bundles.py for the format).
struct Expected {
  std::string key, dtype;
  Shape shape;
  std::vector<std::string> values;
  bool has_crc32 = false;
  uint32_t crc32 = 0;
};

std::vector<Expected> ReadExpected(const std::string& path) {
  std::vector<Expected> out;
  std::ifstream in(path);
  std::string line;
  Expected cur;
  while (std::getline(in, line)) {
    const size_t space = line.find(' ');
    const std::string tag = line.substr(0, space);
    const std::string rest = space == std::string::npos ? "" : line.substr(space + 1);
    std::istringstream words(rest);
    if (tag == "key") {
      cur = Expected{rest};
    } else if (tag == "dtype") {
      cur.dtype = rest;
    } else if (tag == "shape") {
      std::string dim;
      std::istringstream dims(rest);
      while (std::getline(dims, dim, ',')) cur.shape.push_back(std::stoll(dim));
    } else if (tag == "values") {
      for (std::string w; words >> w;) cur.values.push_back(w);
    } else if (tag == "crc32") {
      cur.has_crc32 = true;
      cur.crc32 = static_cast<uint32_t>(std::stoul(rest));
    } else if (tag == "end") {
      out.push_back(cur);
    }
  }
  return out;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string Unhex(const std::string& hex) {
  if (hex == "-") return "";
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// Bit-exact comparison of one element with its text from expected.txt.
::testing::AssertionResult ElementMatches(const Tensor& t, int64_t i, const std::string& text) {
  const DType d = t.dtype();
  const auto* base = static_cast<const uint8_t*>(t.raw_data());
  bool same = false;
  if (d == DType::kString) {
    same = t.strings()[i] == Unhex(text);
  } else if (IsFloating(d)) {
    uint64_t bits = 0;
    std::memcpy(&bits, base + i * DTypeSize(d), DTypeSize(d));
    same = bits == std::stoull(text, nullptr, 16);
  } else if (d == DType::kBool) {
    same = t.data<bool>()[i] == (text == "1");
  } else if (d == DType::kUInt64) {
    same = t.data<uint64_t>()[i] == std::stoull(text);
  } else {
    StatusOr<std::vector<int64_t>> ints = t.ToInt64Vector();
    same = ints.ok() && (*ints)[i] == std::stoll(text);
  }
  if (same) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "element " << i << " differs from " << text;
}

::testing::AssertionResult Matches(const Tensor& t, const Expected& e) {
  if (DTypeName(t.dtype()) != e.dtype) return ::testing::AssertionFailure() << "dtype " << DTypeName(t.dtype());
  if (t.shape() != e.shape) return ::testing::AssertionFailure() << "shape " << ShapeToString(t.shape());
  if (e.has_crc32) {
    const uint32_t crc = crc32(0, static_cast<const Bytef*>(t.raw_data()), static_cast<uInt>(t.byte_size()));
    if (crc != e.crc32) return ::testing::AssertionFailure() << "crc32 " << crc << " != " << e.crc32;
    return ::testing::AssertionSuccess();
  }
  if (static_cast<int64_t>(e.values.size()) != t.num_elements()) {
    return ::testing::AssertionFailure() << e.values.size() << " expected values for " << t.num_elements();
  }
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    ::testing::AssertionResult r = ElementMatches(t, i, e.values[i]);
    if (!r) return r;
  }
  return ::testing::AssertionSuccess();
}

TensorBundle OpenOrDie(const std::string& prefix) {
  StatusOr<TensorBundle> bundle = TensorBundle::Open(prefix);
  EXPECT_TRUE(bundle.ok()) << bundle.status().ToString();
  return bundle.ok() ? std::move(*bundle) : TensorBundle();
}

class BundleFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BundleFixtureTest, ReadsEveryTensorBitExact) {
  TensorBundle bundle = OpenOrDie(CasePrefix(GetParam()));
  EXPECT_EQ(bundle.Keys(), ReadLines(CaseDir(GetParam()) + "/keys.txt"));
  const std::vector<Expected> expected = ReadExpected(CaseDir(GetParam()) + "/expected.txt");
  ASSERT_EQ(expected.size(), bundle.Keys().size());
  for (const Expected& e : expected) {
    ASSERT_TRUE(bundle.Has(e.key)) << e.key;
    StatusOr<Tensor> t = bundle.Read(e.key);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_TRUE(Matches(*t, e)) << e.key;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, BundleFixtureTest, ::testing::Values("dtypes", "many", "sharded", "raw"));

TEST(BundleTest, HeaderAndShards) {
  TensorBundle dtypes = OpenOrDie(CasePrefix("dtypes"));
  EXPECT_EQ(dtypes.header().num_shards(), 1);
  EXPECT_EQ(dtypes.header().endianness(), tfproto::BundleHeaderProto::LITTLE);
  EXPECT_EQ(dtypes.ShardPath(0), CasePrefix("dtypes") + ".data-00000-of-00001");

  TensorBundle sharded = OpenOrDie(CasePrefix("sharded"));
  EXPECT_GT(sharded.header().num_shards(), 1);
  std::set<int> shards;
  for (const std::string& key : sharded.Keys()) shards.insert(sharded.FindEntry(key)->shard_id());
  EXPECT_GT(shards.size(), 1u);
}

// The checkpoint's object graph names a checkpoint key for every variable, which must all be present.
TEST(BundleTest, ObjectGraphNamesEveryVariable) {
  for (const std::string name : {"dtypes", "many", "sharded"}) {
    TensorBundle bundle = OpenOrDie(CasePrefix(name));
    StatusOr<Tensor> graph_tensor = bundle.Read("_CHECKPOINTABLE_OBJECT_GRAPH");
    ASSERT_TRUE(graph_tensor.ok()) << graph_tensor.status().ToString();
    ASSERT_EQ(graph_tensor->dtype(), DType::kString);
    ASSERT_EQ(graph_tensor->num_elements(), 1);
    tfproto::TrackableObjectGraph graph;
    ASSERT_TRUE(graph.ParseFromString(graph_tensor->strings()[0]));
    std::set<std::string> named;
    for (const auto& node : graph.nodes()) {
      for (const auto& attr : node.attributes()) {
        EXPECT_EQ(attr.name(), "VARIABLE_VALUE");
        named.insert(attr.checkpoint_key());
      }
      for (const auto& child : node.children()) EXPECT_LT(child.node_id(), graph.nodes_size());
    }
    const std::vector<std::string> all_keys = bundle.Keys();
    std::set<std::string> keys(all_keys.begin(), all_keys.end());
    keys.erase("_CHECKPOINTABLE_OBJECT_GRAPH");
    EXPECT_EQ(named, keys) << name;
  }
}

TEST(BundleTest, MissingKeyIsNotFound) {
  TensorBundle bundle = OpenOrDie(CasePrefix("raw"));
  EXPECT_FALSE(bundle.Has("nope"));
  EXPECT_EQ(bundle.FindEntry("nope"), nullptr);
  StatusOr<Tensor> t = bundle.Read("nope");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
  EXPECT_NE(t.status().message().find("nope"), std::string::npos);
  EXPECT_EQ(t.status().file(), bundle.IndexPath());
}

// Copies a fixture into a fresh temporary directory so a test can damage it.
class BundleCorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("kiln_bundle_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string CopyCase(const std::string& name) {
    fs::copy(CaseDir(name) + "/variables", dir_ / name);
    return (dir_ / name / "variables").string();
  }

  fs::path dir_;
};

// Checks the code and that both the message and the status name `file`.
void ExpectError(const Status& status, StatusCode code, const std::string& file, const std::string& words = "") {
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), code) << status.ToString();
  EXPECT_NE(status.message().find("'" + file + "'"), std::string::npos) << status.ToString();
  EXPECT_EQ(status.file(), file) << status.ToString();
  if (!words.empty()) EXPECT_NE(status.message().find(words), std::string::npos) << status.ToString();
}

void FlipByte(const std::string& path, uint64_t pos) {
  std::string bytes = ReadFile(path);
  ASSERT_LT(pos, bytes.size());
  bytes[pos] ^= 0x5a;
  WriteFile(path, bytes);
}

TEST_F(BundleCorruptionTest, WrongMagicNumber) {
  const std::string prefix = CopyCase("raw");
  const std::string index = prefix + ".index";
  FlipByte(index, fs::file_size(index) - 1);
  ExpectError(TensorBundle::Open(prefix).status(), StatusCode::kDataLoss, index, "bad magic number");
}

TEST_F(BundleCorruptionTest, FlippedByteInIndexBlock) {
  const std::string prefix = CopyCase("many");
  const std::string index = prefix + ".index";
  FlipByte(index, 5000);  // inside the second data block
  ExpectError(TensorBundle::Open(prefix).status(), StatusCode::kDataLoss, index, "checksum mismatch");
}

TEST_F(BundleCorruptionTest, TruncatedIndex) {
  const std::string prefix = CopyCase("many");
  const std::string index = prefix + ".index";
  fs::resize_file(index, fs::file_size(index) - 100);
  ExpectError(TensorBundle::Open(prefix).status(), StatusCode::kDataLoss, index);
  fs::resize_file(index, 30);
  ExpectError(TensorBundle::Open(prefix).status(), StatusCode::kDataLoss, index, "truncated");
}

TEST_F(BundleCorruptionTest, EmptyIndex) {
  const std::string prefix = CopyCase("raw");
  fs::resize_file(prefix + ".index", 0);
  ExpectError(TensorBundle::Open(prefix).status(), StatusCode::kDataLoss, prefix + ".index", "empty");
}

TEST_F(BundleCorruptionTest, MissingIndex) {
  const std::string prefix = CopyCase("raw");
  fs::remove(prefix + ".index");
  ExpectError(TensorBundle::Open(prefix).status(), StatusCode::kNotFound, prefix + ".index");
}

TEST_F(BundleCorruptionTest, MissingDataShard) {
  const std::string prefix = CopyCase("sharded");
  TensorBundle intact = OpenOrDie(prefix);
  const std::string shard = intact.ShardPath(2);
  fs::remove(shard);
  ExpectError(TensorBundle::Open(prefix).status(), StatusCode::kNotFound, shard, "is missing");
}

TEST_F(BundleCorruptionTest, TruncatedDataShard) {
  const std::string prefix = CopyCase("dtypes");
  const std::string shard = prefix + ".data-00000-of-00001";
  const uint64_t cut = fs::file_size(shard) / 2;
  fs::resize_file(shard, cut);
  TensorBundle bundle = OpenOrDie(prefix);
  int failed = 0;
  for (const std::string& key : bundle.Keys()) {
    const tfproto::BundleEntryProto* entry = bundle.FindEntry(key);
    StatusOr<Tensor> t = bundle.Read(key);
    if (static_cast<uint64_t>(entry->offset() + entry->size()) <= cut) {
      EXPECT_TRUE(t.ok()) << t.status().ToString();
    } else {
      ExpectError(t.status(), StatusCode::kDataLoss, shard, key);
      ++failed;
    }
  }
  EXPECT_GT(failed, 0);
}

TEST_F(BundleCorruptionTest, FlippedByteInNumericData) {
  const std::string prefix = CopyCase("dtypes");
  const std::string key = "f32/.ATTRIBUTES/VARIABLE_VALUE";
  TensorBundle bundle = OpenOrDie(prefix);
  ASSERT_TRUE(bundle.Read(key).ok());
  FlipByte(bundle.ShardPath(0), bundle.FindEntry(key)->offset() + 5);
  ExpectError(bundle.Read(key).status(), StatusCode::kDataLoss, bundle.ShardPath(0), "checksum mismatch");
  EXPECT_NE(bundle.Read(key).status().message().find(key), std::string::npos);
}

TEST_F(BundleCorruptionTest, FlippedByteInStringData) {
  const std::string prefix = CopyCase("dtypes");
  const std::string key = "words/.ATTRIBUTES/VARIABLE_VALUE";
  TensorBundle bundle = OpenOrDie(prefix);
  const tfproto::BundleEntryProto entry = *bundle.FindEntry(key);
  const std::string shard = bundle.ShardPath(0);
  const std::string original = ReadFile(shard);
  FlipByte(shard, entry.offset());  // the first length
  ExpectError(bundle.Read(key).status(), StatusCode::kDataLoss, shard, key);
  WriteFile(shard, original);
  FlipByte(shard, entry.offset() + entry.size() - 1);  // the last string byte
  ExpectError(bundle.Read(key).status(), StatusCode::kDataLoss, shard, "checksum mismatch");
}

// The [begin, end) byte ranges of the data `key` is read from: its own, or those of its slices.
std::vector<std::pair<uint64_t, uint64_t>> DataRanges(const TensorBundle& bundle, const std::string& key) {
  const tfproto::BundleEntryProto* entry = bundle.FindEntry(key);
  std::vector<const tfproto::BundleEntryProto*> parts = {entry};
  if (entry->slices_size() > 0) {
    parts.clear();
    for (const auto& slice : entry->slices()) parts.push_back(bundle.FindEntry(TensorSliceKey(key, slice)));
  }
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto* part : parts) ranges.emplace_back(part->offset(), part->offset() + part->size());
  return ranges;
}

// Every byte of the raw fixture's data belongs to exactly one tensor: flipping it must fail that read only.
TEST_F(BundleCorruptionTest, EveryDataByteIsChecked) {
  const std::string prefix = CopyCase("raw");
  TensorBundle bundle = OpenOrDie(prefix);
  const std::string shard = bundle.ShardPath(0);
  const std::string original = ReadFile(shard);
  uint64_t covered = 0;
  for (const std::string& key : bundle.Keys()) {
    for (const auto& [begin, end] : DataRanges(bundle, key)) covered += end - begin;
  }
  ASSERT_EQ(covered, original.size());
  std::vector<uint64_t> positions;
  for (uint64_t pos = 0; pos < original.size(); pos += pos < 128 ? 1 : 997) positions.push_back(pos);
  positions.push_back(original.size() - 1);
  for (uint64_t pos : positions) {
    FlipByte(shard, pos);
    for (const std::string& key : bundle.Keys()) {
      bool inside = false;
      for (const auto& [begin, end] : DataRanges(bundle, key)) inside |= pos >= begin && pos < end;
      StatusOr<Tensor> t = bundle.Read(key);
      EXPECT_EQ(t.ok(), !inside) << key << " with byte " << pos << " flipped";
      if (!t.ok()) EXPECT_EQ(t.status().code(), StatusCode::kDataLoss);
    }
    WriteFile(shard, original);
  }
}

// Indexes TensorFlow would not write, built with the test table writer.
class BundleCraftedIndexTest : public BundleCorruptionTest {
 protected:
  using Entries = std::vector<std::pair<std::string, tfproto::BundleEntryProto>>;

  void SetUp() override {
    BundleCorruptionTest::SetUp();
    prefix_ = (dir_ / "variables").string();
    const float values[4] = {1.0f, 2.0f, -3.0f, 0.5f};
    data_.assign(reinterpret_cast<const char*>(values), sizeof(values));
    WriteFile(ShardPath(), data_);
    header_.set_num_shards(1);
    header_.mutable_version()->set_producer(1);
  }

  std::string ShardPath() const { return prefix_ + ".data-00000-of-00001"; }
  std::string IndexPath() const { return prefix_ + ".index"; }

  // A correct entry for the four floats in the shard.
  tfproto::BundleEntryProto GoodEntry() const {
    tfproto::BundleEntryProto e;
    e.set_dtype(tfproto::DT_FLOAT);
    e.mutable_shape()->add_dim()->set_size(4);
    e.set_size(16);
    e.set_crc32c(MaskCrc32c(Crc32c(data_)));
    return e;
  }

  StatusOr<TensorBundle> OpenWith(const Entries& entries) {
    WriteFile(IndexPath(), testing::BuildBundleIndex(header_, entries));
    return TensorBundle::Open(prefix_);
  }

  Status ReadWith(const tfproto::BundleEntryProto& entry) {
    StatusOr<TensorBundle> bundle = OpenWith({{"v", entry}});
    if (!bundle.ok()) return bundle.status();
    return bundle->Read("v").status();
  }

  std::string prefix_, data_;
  tfproto::BundleHeaderProto header_;
};

TEST_F(BundleCraftedIndexTest, GoodEntryReads) {
  StatusOr<TensorBundle> bundle = OpenWith({{"v", GoodEntry()}});
  ASSERT_TRUE(bundle.ok()) << bundle.status().ToString();
  StatusOr<Tensor> t = bundle->Read("v");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(std::vector<float>(t->data<float>(), t->data<float>() + 4), (std::vector<float>{1, 2, -3, 0.5f}));
}

TEST_F(BundleCraftedIndexTest, EntryPastTheShard) {
  tfproto::BundleEntryProto e = GoodEntry();
  e.set_offset(8);
  ExpectError(ReadWith(e), StatusCode::kDataLoss, ShardPath(), "past the end");
  e.set_offset(-4);
  ExpectError(ReadWith(e), StatusCode::kDataLoss, ShardPath(), "past the end");
  e.set_offset(int64_t{1} << 62);
  ExpectError(ReadWith(e), StatusCode::kDataLoss, ShardPath(), "past the end");
  e.set_offset(0);
  e.set_size(int64_t{1} << 62);
  ExpectError(ReadWith(e), StatusCode::kDataLoss, ShardPath(), "past the end");
}

TEST_F(BundleCraftedIndexTest, BadEntries) {
  tfproto::BundleEntryProto e = GoodEntry();
  e.set_size(12);  // three floats' worth for a shape of four
  ExpectError(ReadWith(e), StatusCode::kDataLoss, IndexPath(), "does not match");

  e = GoodEntry();
  e.mutable_shape()->mutable_dim(0)->set_size(-1);
  ExpectError(ReadWith(e), StatusCode::kDataLoss, IndexPath(), "'v'");

  e = GoodEntry();
  e.mutable_shape()->add_dim()->set_size(int64_t{1} << 62);
  e.mutable_shape()->add_dim()->set_size(int64_t{1} << 62);
  ExpectError(ReadWith(e), StatusCode::kDataLoss, IndexPath());

  e = GoodEntry();
  e.set_shard_id(3);
  ExpectError(ReadWith(e), StatusCode::kDataLoss, IndexPath(), "shard 3");

  e = GoodEntry();
  e.set_dtype(tfproto::DT_COMPLEX64);
  ExpectError(ReadWith(e), StatusCode::kUnimplemented, IndexPath(), "DT_COMPLEX64");

  e = GoodEntry();
  e.add_slices()->add_extent()->set_start(0);
  e.mutable_shape()->add_dim()->set_size(1);
  ExpectError(ReadWith(e), StatusCode::kDataLoss, IndexPath(), "wrong rank");

  e = GoodEntry();
  e.set_crc32c(e.crc32c() + 1);
  ExpectError(ReadWith(e), StatusCode::kDataLoss, ShardPath(), "checksum mismatch");

  // A string entry whose lengths claim more bytes than it holds.
  e = GoodEntry();
  e.set_dtype(tfproto::DT_STRING);
  e.mutable_shape()->mutable_dim(0)->set_size(20);
  ExpectError(ReadWith(e), StatusCode::kDataLoss, ShardPath(), "too small");
}

TEST_F(BundleCraftedIndexTest, BadHeaders) {
  WriteFile(IndexPath(), testing::BuildTable({{"v", GoodEntry().SerializeAsString()}}));
  ExpectError(TensorBundle::Open(prefix_).status(), StatusCode::kDataLoss, IndexPath(), "header");

  WriteFile(IndexPath(), testing::BuildTable({{"", "\xff\xff\xff"}}));
  ExpectError(TensorBundle::Open(prefix_).status(), StatusCode::kDataLoss, IndexPath(), "header");

  WriteFile(IndexPath(), testing::BuildTable({{"", header_.SerializeAsString()}, {"v", "\xff\xff\xff"}}));
  ExpectError(TensorBundle::Open(prefix_).status(), StatusCode::kDataLoss, IndexPath(), "'v'");

  header_.set_num_shards(0);
  ExpectError(OpenWith({}).status(), StatusCode::kDataLoss, IndexPath(), "shard count");
  header_.set_num_shards(1 << 30);
  ExpectError(OpenWith({}).status(), StatusCode::kDataLoss, IndexPath(), "shard count");

  header_.set_num_shards(1);
  header_.set_endianness(tfproto::BundleHeaderProto::BIG);
  ExpectError(OpenWith({}).status(), StatusCode::kUnimplemented, IndexPath(), "big-endian");

  header_.set_endianness(tfproto::BundleHeaderProto::LITTLE);
  header_.mutable_version()->set_min_consumer(2);
  ExpectError(OpenWith({}).status(), StatusCode::kFailedPrecondition, IndexPath(), "newer");
  header_.mutable_version()->set_min_consumer(0);
  header_.mutable_version()->add_bad_consumers(1);
  ExpectError(OpenWith({}).status(), StatusCode::kFailedPrecondition, IndexPath());

  header_.mutable_version()->clear_bad_consumers();
  header_.set_num_shards(2);
  ExpectError(OpenWith({}).status(), StatusCode::kNotFound, prefix_ + ".data-00000-of-00002", "is missing");
}

TEST(BundleTest, SliceKeysMatchTensorFlow) {
  tfproto::TensorSliceProto rows;  // [0:13, 0:64], as a max-shard-size policy wrote it
  rows.add_extent()->set_length(13);
  rows.add_extent()->set_length(64);
  EXPECT_EQ(TensorSliceKey("w1/.ATTRIBUTES/VARIABLE_VALUE", rows),
            std::string("\0w1/.ATTRIBUTES/VARIABLE_VALUE\0\x01\x01\x02\x80\x8d\x80\xc0@", 39));
  tfproto::TensorSliceProto whole_dim;  // [2:4, :], as SaveV2 wrote "4 3 2,2:-"
  auto* first = whole_dim.add_extent();
  first->set_start(2);
  first->set_length(2);
  whole_dim.add_extent();
  EXPECT_EQ(TensorSliceKey("parts/ints", whole_dim), std::string("\0parts/ints\0\x01\x01\x02\x82\x82\x80\x7f", 19));

  // Every slice of the fixtures' partitioned tensors is found under its key.
  for (const std::string name : {"raw", "sharded"}) {
    TensorBundle bundle = OpenOrDie(CasePrefix(name));
    int sliced = 0;
    for (const std::string& key : bundle.Keys()) {
      for (const auto& slice : bundle.FindEntry(key)->slices()) {
        EXPECT_NE(bundle.FindEntry(TensorSliceKey(key, slice)), nullptr) << key;
        ++sliced;
      }
    }
    EXPECT_GT(sliced, 0) << name;
  }
}

TEST_F(BundleCraftedIndexTest, BadSlices) {
  // The shard holds four floats; the tensor is 2x2, saved as rows [0:1] and [1:2].
  auto slice = [](int64_t start, int64_t length) {
    tfproto::TensorSliceProto s;
    auto* e = s.add_extent();
    e->set_start(start);
    e->set_length(length);
    s.add_extent();
    return s;
  };
  auto part = [&](int64_t offset) {
    tfproto::BundleEntryProto e = GoodEntry();
    e.mutable_shape()->Clear();
    e.mutable_shape()->add_dim()->set_size(1);
    e.mutable_shape()->add_dim()->set_size(2);
    e.set_offset(offset);
    e.set_size(8);
    e.set_crc32c(MaskCrc32c(Crc32c(data_.data() + offset, 8)));
    return e;
  };
  auto whole = [&](const std::vector<tfproto::TensorSliceProto>& slices) {
    tfproto::BundleEntryProto e;
    e.set_dtype(tfproto::DT_FLOAT);
    e.mutable_shape()->add_dim()->set_size(2);
    e.mutable_shape()->add_dim()->set_size(2);
    for (const auto& s : slices) *e.add_slices() = s;
    return e;
  };
  auto read = [&](const Entries& entries) -> Status {
    StatusOr<TensorBundle> bundle = OpenWith(entries);
    if (!bundle.ok()) return bundle.status();
    EXPECT_EQ(bundle->Keys(), std::vector<std::string>{"v"});
    StatusOr<Tensor> t = bundle->Read("v");
    if (t.ok()) {
      EXPECT_EQ(std::vector<float>(t->data<float>(), t->data<float>() + 4), (std::vector<float>{1, 2, -3, 0.5f}));
    }
    return t.status();
  };
  const std::string k0 = TensorSliceKey("v", slice(0, 1)), k1 = TensorSliceKey("v", slice(1, 1));
  const Status good = read({{k0, part(0)}, {k1, part(8)}, {"v", whole({slice(0, 1), slice(1, 1)})}});
  EXPECT_TRUE(good.ok()) << good.ToString();
  ExpectError(read({{k0, part(0)}, {"v", whole({slice(0, 1), slice(1, 1)})}}), StatusCode::kDataLoss, IndexPath(),
              "is missing");
  ExpectError(read({{k0, part(0)}, {"v", whole({slice(0, 1)})}}), StatusCode::kDataLoss, IndexPath(), "2 elements of 4");
  ExpectError(read({{k0, part(0)}, {"v", whole({slice(0, 1), slice(0, 1)})}}), StatusCode::kDataLoss, IndexPath(),
              "overlap");
  ExpectError(read({{k0, part(0)}, {"v", whole({slice(0, 1), slice(1, 5)})}}), StatusCode::kDataLoss, IndexPath(),
              "outside");
  tfproto::BundleEntryProto wrong_shape = part(8);
  wrong_shape.mutable_shape()->mutable_dim(1)->set_size(1);
  ExpectError(read({{k0, part(0)}, {k1, wrong_shape}, {"v", whole({slice(0, 1), slice(1, 1)})}}),
              StatusCode::kDataLoss, IndexPath(), "wrong dtype or shape");
  tfproto::BundleEntryProto bad_crc = part(8);
  bad_crc.set_crc32c(bad_crc.crc32c() ^ 1);
  ExpectError(read({{k0, part(0)}, {k1, bad_crc}, {"v", whole({slice(0, 1), slice(1, 1)})}}), StatusCode::kDataLoss,
              ShardPath(), "checksum mismatch");
}

}  // namespace
}  // namespace kiln::savedmodel
