#include "frontends/savedmodel/table.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "table_writer.h"
#include "util/test_util.h"

namespace kiln::savedmodel {
namespace {

using testing::BuildTable;
using testing::TableOptions;

const std::string kPath = "x/variables/variables.index";

std::vector<TableEntry> SampleEntries(int n) {
  std::vector<TableEntry> entries;
  for (int i = 0; i < n; ++i) {
    char key[64];
    std::snprintf(key, sizeof(key), "layer_%03d/kernel/.ATTRIBUTES/VARIABLE_VALUE", i);
    entries.push_back({key, std::string(static_cast<size_t>(i % 7), static_cast<char>('a' + i % 26))});
  }
  return entries;
}

void ExpectDataLossNamingFile(const StatusOr<std::vector<TableEntry>>& result, const std::string& words) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kDataLoss) << result.status().ToString();
  EXPECT_NE(result.status().message().find(words), std::string::npos) << result.status().ToString();
  EXPECT_NE(result.status().message().find("'" + kPath + "'"), std::string::npos) << result.status().ToString();
  EXPECT_EQ(result.status().file(), kPath);
}

TEST(BundleTableTest, RoundTripsPrefixCompressedBlocks) {
  const std::vector<TableEntry> entries = SampleEntries(100);
  for (size_t per_block : {1, 3, 100}) {
    for (size_t restart : {1, 4, 16}) {
      StatusOr<std::vector<TableEntry>> back = ParseTable(BuildTable(entries, {per_block, restart}), kPath);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      ASSERT_EQ(back->size(), entries.size());
      for (size_t i = 0; i < entries.size(); ++i) {
        EXPECT_EQ((*back)[i].key, entries[i].key);
        EXPECT_EQ((*back)[i].value, entries[i].value);
      }
    }
  }
  StatusOr<std::vector<TableEntry>> empty = ParseTable(BuildTable({}), kPath);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(BundleTableTest, ReadsTensorFlowIndexWithSeveralBlocks) {
  const std::string path = kiln::testing::FixturePath("bundles/many/variables/variables.index");
  // TensorFlow cuts data blocks at 4 KiB, so this index has several.
  ASSERT_GT(std::filesystem::file_size(path), 3u * 4096);
  StatusOr<std::vector<TableEntry>> entries = ReadTable(path);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 602u);  // header + 300 kernels + 300 biases + object graph
  EXPECT_EQ((*entries)[0].key, "");
  EXPECT_EQ((*entries)[1].key, "_CHECKPOINTABLE_OBJECT_GRAPH");
  EXPECT_EQ(entries->back().key, "layers/99/kernel/.ATTRIBUTES/VARIABLE_VALUE");
}

TEST(BundleTableTest, MissingFileIsNotFound) {
  StatusOr<std::vector<TableEntry>> result = ReadTable("/nonexistent/kiln/variables.index");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
}

TEST(BundleTableTest, RejectsBrokenFiles) {
  const std::string good = BuildTable(SampleEntries(40));
  ExpectDataLossNamingFile(ParseTable("", kPath), "empty");
  ExpectDataLossNamingFile(ParseTable(good.substr(good.size() - 20), kPath), "truncated");

  std::string bad_magic = good;
  bad_magic.back() ^= 1;
  ExpectDataLossNamingFile(ParseTable(bad_magic, kPath), "bad magic number");

  std::string flipped = good;
  flipped[10] ^= 0x20;
  ExpectDataLossNamingFile(ParseTable(flipped, kPath), "checksum mismatch");

  // Dropping bytes from the front leaves the footer intact but its handles pointing past the end.
  ExpectDataLossNamingFile(ParseTable(good.substr(good.size() / 2), kPath), "past the end");

  TableOptions unknown_compression;
  unknown_compression.compression = 7;
  ExpectDataLossNamingFile(ParseTable(BuildTable(SampleEntries(3), unknown_compression), kPath), "compression");

  std::vector<TableEntry> unsorted = SampleEntries(5);
  std::swap(unsorted[1], unsorted[3]);
  ExpectDataLossNamingFile(ParseTable(BuildTable(unsorted), kPath), "out of order");
}

TEST(BundleTableTest, SnappyBlocksAreUnimplemented) {
  TableOptions snappy;
  snappy.compression = 1;
  StatusOr<std::vector<TableEntry>> result = ParseTable(BuildTable(SampleEntries(3), snappy), kPath);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(result.status().message().find("snappy"), std::string::npos);
  EXPECT_NE(result.status().message().find(kPath), std::string::npos);
}

// Blocks whose checksum is right but whose contents are damaged must still fail cleanly.
TEST(BundleTableTest, SurvivesDamagedBlockContents) {
  const std::vector<TableEntry> entries = SampleEntries(12);
  for (const std::string kind : {"data", "index", "metaindex"}) {
    for (size_t pos = 0; pos < 400; ++pos) {
      for (char value : {'\x00', '\x7f', '\x80', '\xff'}) {
        bool touched = false;
        TableOptions options{6, 3, 0, [&](const std::string& k, std::string* contents) {
                               if (k != kind || pos >= contents->size() || touched) return;
                               (*contents)[pos] = value;
                               touched = true;
                             }};
        const std::string file = BuildTable(entries, options);
        if (!touched) continue;
        StatusOr<std::vector<TableEntry>> result = ParseTable(file, kPath);
        if (!result.ok()) EXPECT_EQ(result.status().code(), StatusCode::kDataLoss) << result.status().ToString();
      }
    }
  }
}

TEST(BundleTableTest, EveryTruncationAndFlipOfARealIndexIsHandled) {
  const std::string path = kiln::testing::FixturePath("bundles/dtypes/variables/variables.index");
  const std::string good = testing::ReadFile(path);
  ASSERT_GT(good.size(), kTableFooterSize);
  ASSERT_TRUE(ParseTable(good, kPath).ok());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(ParseTable(good.substr(0, n), kPath).ok()) << "truncated to " << n;
  }
  for (size_t pos = 0; pos < good.size(); ++pos) {
    std::string bad = good;
    bad[pos] ^= 0x01;
    StatusOr<std::vector<TableEntry>> result = ParseTable(bad, kPath);
    // Every byte before the footer is covered by a block checksum; the footer's padding is not.
    if (pos < good.size() - kTableFooterSize) EXPECT_FALSE(result.ok()) << "flipped byte " << pos;
  }
}

TEST(BundleTableTest, Varints) {
  std::string bytes;
  PutVarint64(&bytes, 300);
  PutVarint64(&bytes, ~uint64_t{0});
  std::string_view in = bytes;
  uint64_t v = 0;
  ASSERT_TRUE(GetVarint64(&in, &v));
  EXPECT_EQ(v, 300u);
  ASSERT_TRUE(GetVarint64(&in, &v));
  EXPECT_EQ(v, ~uint64_t{0});
  EXPECT_TRUE(in.empty());

  std::string_view too_long = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";
  EXPECT_FALSE(GetVarint64(&too_long, &v));
  EXPECT_EQ(too_long.size(), 11u);  // left as it was
  std::string_view overflow = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02";
  EXPECT_FALSE(GetVarint64(&overflow, &v));
  std::string_view cut = "\x80\x80";
  EXPECT_FALSE(GetVarint64(&cut, &v));

  uint32_t v32 = 0;
  std::string_view big = "\x80\x80\x80\x80\x10";  // 2^32
  EXPECT_FALSE(GetVarint32(&big, &v32));
  std::string_view max32 = "\xff\xff\xff\xff\x0f";
  ASSERT_TRUE(GetVarint32(&max32, &v32));
  EXPECT_EQ(v32, 0xffffffffu);
}

}  // namespace
}  // namespace kiln::savedmodel
