#pragma once

// state::ingress_log: the node's durable log of accepted ingress messages.
// A message is acknowledged to its sender only once it is in the log and the
// log is fsynced, so a crash never loses an acknowledged message; after a
// restore the log is re-read from the position recorded by the checkpoint.
// Format: docs/storage.md, "Ingress log".
//
// Threading: append(), read() and trim() are called by one owner at a time
// (the log writer thread, or a test); ingress_writer adds group commit for
// many producer threads.

#include "protocol/messages.hpp"
#include "protocol/result.hpp"
#include "state/storage_env.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hearth::state {

/// One ingress message as logged.
struct ingress_record {
  std::uint64_t offset = 0;    // assigned by append()
  std::int64_t time_ms = 0;    // when it was accepted (set by ingress_writer)
  std::string idempotency_key; // empty: none
  protocol::address target;
  protocol::typed_value value;
};

struct ingress_log_options {
  /// A segment is closed and a new one started beyond this size.
  std::uint64_t segment_bytes = 64ull << 20;
  /// fsync after each append (off only in tests of throughput).
  bool sync = true;
  /// The storage seam (a test's env can make writes and fsyncs fail).
  storage_env* env = &storage_env::standard();
  /// A log that holds no record starts at this offset (the position a
  /// restored checkpoint resumes at, when the log is new: an empty data dir).
  std::uint64_t first_offset = 0;
};

class ingress_log {
public:
  ~ingress_log();
  ingress_log(const ingress_log&) = delete;
  ingress_log& operator=(const ingress_log&) = delete;

  /// Opens or creates the log in `dir`. A torn record at the end of the last
  /// segment (the final record, cut short or failing its checksum: a crash
  /// during a write) is cut off; any other invalid record is errc::io naming
  /// the file and byte.
  /// A log whose records end before opts.first_offset is errc::conflict (the
  /// records in between are gone).
  static result<std::unique_ptr<ingress_log>> open(const std::string& dir,
                                                   ingress_log_options opts = {});

  /// Assigns consecutive offsets to `records`, writes them in one write and
  /// fsyncs. Returns the offset of the first. On failure nothing is
  /// acknowledged and the log is left as it was.
  result<std::uint64_t> append(std::vector<ingress_record>& records);

  /// Records with offset >= `from`, at most `max` (and about `max_bytes` of
  /// them, but at least one), in order. Reads only from the nearest indexed
  /// record before `from` on: the cost does not grow with the segment.
  result<std::vector<ingress_record>> read(std::uint64_t from, size_t max,
                                           size_t max_bytes = default_read_bytes);

  /// Where the records from `from` on are: taken by the owner (cheap), then
  /// read with read_spans() by any thread, without the owner's lock. Valid
  /// until a trim() removes a segment it names (trims only go below the
  /// positions still to be read).
  struct span {
    std::string path;
    std::uint64_t pos = 0; // byte of the indexed record at or before `from`
    std::uint64_t end = 0; // bytes of the segment that hold whole records
  };
  std::vector<span> plan_read(std::uint64_t from) const;
  static result<std::vector<ingress_record>> read_spans(const std::vector<span>& spans,
                                                        std::uint64_t from, size_t max,
                                                        size_t max_bytes = default_read_bytes);

  static constexpr size_t default_read_bytes = 16u << 20;
  /// One index entry (offset, byte) every this many records of a segment.
  static constexpr std::uint64_t index_every = 64;

  /// Deletes segments whose records all have offsets < `before`.
  status trim(std::uint64_t before);

  /// The offset the next appended record will get.
  std::uint64_t next_offset() const { return next_; }

  /// The lowest offset still stored.
  std::uint64_t first_offset() const;

private:
  struct segment {
    std::uint64_t first = 0;
    std::string path;
    std::uint64_t bytes = 0;
    std::uint64_t records = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> index; // (offset, byte), sparse
  };
  ingress_log() = default;
  status roll();

  std::string dir_;
  ingress_log_options opts_;
  std::vector<segment> segments_;
  int fd_ = -1; // the last segment, open for append
  std::uint64_t next_ = 0;
  bool broken_ = false; // a failed write could not be undone: no more appends
};

/// Where a submitted record ended up.
struct accepted {
  std::uint64_t offset = 0;
  bool duplicate = false; // its idempotency key was already accepted: not logged again
};

struct ingress_writer_options {
  /// Directory of the idempotency-key index (an LMDB environment); empty: no index.
  std::string keys_dir;
  /// How long an idempotency key is remembered.
  std::chrono::milliseconds retention{std::chrono::hours{1}};
  /// Called on the writer thread with each group's new records, in offset
  /// order, once they are durable and before their submitters are answered.
  std::function<void(std::vector<ingress_record>)> on_durable;
  /// Called once, on the writer thread, when an append (write or fsync)
  /// failed. The writer is stopped then: the failed group and every later
  /// submission get the error, none is acknowledged. After a failed fsync the
  /// kernel may have dropped the log's dirty pages, so the log must be opened
  /// again from what is on disk (a new ingress_log) before it takes records.
  std::function<void(const error&)> on_failure;
};

/// Group commit in front of an ingress_log: any number of threads submit
/// records; one writer thread appends whatever has gathered in one write and
/// one fsync, then completes every submission of that group. Records with an
/// idempotency key accepted within the retention window are not logged again.
class ingress_writer {
public:
  ~ingress_writer();

  /// Takes over `log`; opens the key index and re-indexes the keys of records
  /// the index may have missed (a crash between the log's fsync and the index
  /// write).
  static result<std::unique_ptr<ingress_writer>> start(std::unique_ptr<ingress_log> log,
                                                       ingress_writer_options opts);

  /// Called on the writer thread once a submitted record is durable (or
  /// could not be logged); it must not block.
  using on_logged = std::function<void(result<accepted>)>;

  /// Queues `rec`; `done` learns where it is once durable, or the error (at
  /// once, on this thread, when the writer is stopped).
  void submit(ingress_record rec, on_logged done);

  /// Queues `rec`; the future yields where it is once durable, or the error.
  std::future<result<accepted>> submit(ingress_record rec);

  /// Records from offset `from` (at most `max`); safe while appends go on.
  result<std::vector<ingress_record>> read(std::uint64_t from, size_t max);

  /// Deletes log segments wholly below `before`.
  status trim(std::uint64_t before);

  std::uint64_t next_offset() const;
  std::uint64_t first_offset() const;

  /// Stops the writer thread after the queued records are written; reads
  /// and trims still work.
  void stop();

  /// Stops, then closes the log's files and the key index, so that the log
  /// can be opened again while this object is still referenced; reads and
  /// trims fail with errc::unavailable from then on.
  void close();

  /// Why the writer stopped taking records after a failed append (empty: it did not).
  std::string failure() const;

  /// Number of appends (fsyncs) done; for tests and metrics.
  std::uint64_t groups() const;

private:
  struct key_index;
  ingress_writer() = default;
  void run();

  std::unique_ptr<ingress_log> log_;
  mutable std::mutex log_mtx_; // guards log_
  std::unique_ptr<key_index> keys_;
  ingress_writer_options opts_;
  mutable std::mutex mtx_;     // guards the queue
  std::condition_variable cv_;
  std::deque<std::pair<ingress_record, on_logged>> queue_;
  bool stopping_ = false;
  std::string failed_;         // set once an append failed: no more records
  std::uint64_t groups_ = 0;
  std::thread thread_;
};

} // namespace hearth::state
