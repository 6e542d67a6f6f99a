// Ingress-log segment recovery: any bytes as the last segment either open
// (a torn tail cut off) with every record readable, or fail with errc::io.

#include "state/ingress_log.hpp"
#include "fuzz_util.hpp"

#include <cstdlib>
#include <fstream>

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  auto dir = fuzz::fresh_dir("log");
  {
    std::ofstream out{dir + "/00000000000000000000.log", std::ios::binary};
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  state::ingress_log_options o;
  o.sync = false;
  auto log = state::ingress_log::open(dir, o);
  if (!log)
    return 0;
  auto all = (*log)->read(0, 1'000'000);
  if (!all || all->size() != (*log)->next_offset())
    std::abort(); // what recovery kept must read back, all of it
  for (size_t i = 0; i < all->size(); ++i)
    if ((*all)[i].offset != i)
      std::abort();
  std::vector<state::ingress_record> more(1);
  more[0].target = {{"a", "b"}, "c"};
  if (!(*log)->append(more)) // a recovered log takes new records
    std::abort();
  return 0;
}
