// Saving a converted model is all or nothing: written beside the target and renamed into place, so
// a failed or killed save leaves the target as it was, and kiln never writes into the model it reads.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <filesystem>
#include <thread>

#include "cli/cli_test_util.h"
#include "convert/convert_test_util.h"
#include "kiln/converter.h"
#include "util/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

class AtomicSaveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = testing::SourcePath("fixtures/mnist/saved_model");
    tmp_ = fs::temp_directory_path() / ("kiln_atomic_" + std::to_string(::getpid()));
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
  }
  void TearDown() override { fs::remove_all(tmp_); }
  std::string Tmp(const std::string& name) const { return (tmp_ / name).string(); }

  // Converts the MNIST model (FP32, CPU engines) and saves it to `dir`.
  Status ConvertTo(const std::string& source, const std::string& dir) {
    ConversionParams params;
    params.engine_device = Device::CPU();
    KILN_ASSIGN_OR_RETURN(auto converter, Converter::Create(source, params));
    KILN_RETURN_IF_ERROR(converter->Convert());
    return converter->Save(dir);
  }

  // Names in tmp_ that are staging or replaced directories left behind.
  std::vector<std::string> Leftovers() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(tmp_)) {
      const std::string name = e.path().filename().string();
      if (name.find(".kiln-") != std::string::npos) names.push_back(name);
    }
    return names;
  }

  std::string model_;
  fs::path tmp_;
};

TEST_F(AtomicSaveTest, ASaveReplacesTheWholeModelAndLeavesNothingBeside) {
  KILN_ASSERT_OK(ConvertTo(model_, Tmp("m")));
  std::ofstream(Tmp("m/assets/kiln/stale.txt")) << "from an earlier save";
  KILN_ASSERT_OK(ConvertTo(model_, Tmp("m")));
  EXPECT_FALSE(fs::exists(Tmp("m/assets/kiln/stale.txt")));
  EXPECT_TRUE(fs::exists(Tmp("m/saved_model.pb")));
  EXPECT_TRUE(Leftovers().empty());
  KILN_ASSERT_OK(Model::Load(Tmp("m")).status());
  // The model directory has the permissions of any new directory, not a private staging one's.
  fs::create_directory(Tmp("plain"));
  EXPECT_EQ(fs::status(Tmp("m")).permissions(), fs::status(Tmp("plain")).permissions());
}

TEST_F(AtomicSaveTest, ADirectoryThatIsNotAModelIsNotReplaced) {
  fs::create_directories(Tmp("notes"));
  std::ofstream(Tmp("notes/todo.txt")) << "keep me";
  const Status s = ConvertTo(model_, Tmp("notes"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("holds files but no saved_model.pb"), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find(Tmp("notes")), std::string::npos) << s.ToString();
  EXPECT_TRUE(fs::exists(Tmp("notes/todo.txt")));
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(AtomicSaveTest, TheModelBeingConvertedIsNeverWritten) {
  fs::copy(model_, Tmp("source"), fs::copy_options::recursive);
  const Status same = ConvertTo(Tmp("source"), Tmp("source"));
  EXPECT_NE(same.message().find("the output directory is the model being converted"), std::string::npos)
      << same.ToString();
  const Status inside = ConvertTo(Tmp("source"), Tmp("source/converted"));
  EXPECT_NE(inside.message().find("inside the model being converted"), std::string::npos) << inside.ToString();
  EXPECT_FALSE(fs::exists(Tmp("source/converted")));
  EXPECT_FALSE(fs::exists(Tmp("source/assets/kiln")));
}

// `kiln convert` killed at moments spread over its run: the target is always the earlier model,
// complete, or the new one, complete.
TEST_F(AtomicSaveTest, AKilledConvertLeavesACompleteModel) {
  KILN_ASSERT_OK(ConvertTo(model_, Tmp("m")));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(testing::RunKiln("convert --input " + model_ + " --output " + Tmp("timing") + " --backend cpu").exit_code,
            0);
  const auto full = std::chrono::steady_clock::now() - start;
  for (int step = 1; step <= 8; ++step) {
    SCOPED_TRACE(step);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      execl(KILN_BINARY, KILN_BINARY, "convert", "--input", model_.c_str(), "--output", Tmp("m").c_str(),
            "--backend", "cpu", "--precision", step % 2 ? "fp16" : "fp32", static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(full * step / 8);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    auto loaded = Model::Load(Tmp("m"));
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    auto out = testing::RunSingle(**loaded, "input_1", Tensor(DType::kFloat32, {2, 28, 28, 1}));
    EXPECT_TRUE(out.ok()) << out.status().ToString();
  }
}

// `kiln convert` onto an earlier model with the disk filling up (RLIMIT_FSIZE: each file it writes
// may hold only so many bytes, and writes past that fail as on a full disk), at limits that stop it
// at its first large weight, midway through the weights and at their last bytes: it fails saying
// what it could not write, and the earlier model is there, complete, with nothing left beside it.
TEST_F(AtomicSaveTest, AFullDiskLeavesTheEarlierModel) {
  KILN_ASSERT_OK(ConvertTo(model_, Tmp("m")));
  for (rlim_t limit : {rlim_t{4} << 10, rlim_t{1} << 20, rlim_t{6} << 20}) {
    SCOPED_TRACE("files of at most " + std::to_string(limit) + " bytes");
    const std::string log = Tmp("convert.log");
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails (EFBIG) instead of ending the process
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || dup2(fd, 2) < 0) _exit(126);
      const struct rlimit r = {limit, limit};
      if (setrlimit(RLIMIT_FSIZE, &r) != 0) _exit(126);
      execl(KILN_BINARY, KILN_BINARY, "convert", "--input", model_.c_str(), "--output", Tmp("m").c_str(),
            "--backend", "cpu", "--precision", "fp16", static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    std::ifstream in(log);
    const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_TRUE(WIFEXITED(status)) << err;
    EXPECT_EQ(WEXITSTATUS(status), 1) << err;
    EXPECT_NE(err.find("error writing"), std::string::npos) << err;
    EXPECT_TRUE(Leftovers().empty());
    auto loaded = Model::Load(Tmp("m"));
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    KILN_ASSERT_OK_AND_ASSIGN(ConversionSummary summary, SummarizeConvertedModel(Tmp("m")));
    EXPECT_EQ(summary.precision, "fp32");  // the earlier model's, not the failed save's fp16
    auto out = testing::RunSingle(**loaded, "input_1", Tensor(DType::kFloat32, {2, 28, 28, 1}));
    EXPECT_TRUE(out.ok()) << out.status().ToString();
  }
}

}  // namespace
}  // namespace kiln
