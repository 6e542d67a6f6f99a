// Checkpoint manifest and part parsing: any bytes as the newest manifest, and
// as a part file restored into a store. Input: manifest and part separated by
// "\n--\n". A damaged file is refused; a store keeps its content then.

#include "state/checkpoint_files.hpp"
#include "fuzz_util.hpp"

#include <cstdlib>
#include <fstream>

using namespace hearth;

namespace {
void write(const std::string& path, const std::string& bytes) {
  std::ofstream out{path, std::ios::binary};
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  static auto store_dir = fuzz::fresh_dir("cp-store");
  static auto store = state::store::open(store_dir);
  if (!store)
    std::abort();
  fuzz::fields in{data, size};
  auto manifest = in.next();
  auto part = in.rest();
  auto dir = fuzz::fresh_dir("cp");
  auto files = state::checkpoint_files::open(dir);
  if (!files)
    std::abort();
  auto name = state::checkpoint_files::part_name(1, 0, true);
  write(dir + "/manifest-00000000000000000001.json", manifest);
  write(dir + "/" + name, part);
  (void)files->latest();
  state::write_batch marker;
  marker.put_raw("fuzz-marker", "kept");
  if (!(*store)->replace([&](state::write_batch& wb) {
        wb = marker;
        return ok();
      }))
    std::abort();
  auto restored = files->restore(**store, {name});
  if (!restored) {
    auto view = (*store)->take_snapshot();
    if (!view || !*(*view)->get("fuzz-marker"))
      std::abort(); // a refused restore leaves the store as it was
  }
  return 0;
}
