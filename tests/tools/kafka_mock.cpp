// hearth-kafka-mock: librdkafka's in-process mock Kafka cluster as a test peer.
//
//   hearth-kafka-mock [--brokers N] [--topic NAME:PARTITIONS]...
//
// Starts N mock brokers (default 3, ids 1..N) listening on 127.0.0.1 on
// ephemeral ports, creates the topics, prints exactly one line
//   kafka-mock bootstrap=<host:port,...>
// to stdout, and then serves until stdin reaches EOF or SIGTERM/SIGINT
// arrives; it then exits 0 (2 on bad arguments, 1 if the cluster cannot
// start). Closing stdin is the normal way to stop it, so a test process
// that dies takes its mock with it.
//
// Fault injection: one command per stdin line, each answered by one stdout
// line, `ok` or `error <why>`:
//   broker-down <id>            disconnect the broker, refuse new connections
//   broker-up <id>              accept connections again
//   topic <name> <partitions>   create a topic
//   leader <topic> <partition> <id>     move a partition's leader (-1: none)
//   request-errors <api-key> <err>...   fail the next requests of that kind,
//       one per error, in order; <api-key> is the Kafka protocol number
//       (Produce 0, Fetch 1, Metadata 3, OffsetCommit 8, InitProducerId 22,
//       AddPartitionsToTxn 24, EndTxn 26); <err> is a librdkafka error name
//       without the RD_KAFKA_RESP_ERR_ prefix (NOT_LEADER_FOR_PARTITION,
//       _TRANSPORT, ...) or its number.
// `id` -1 means every broker. See docs for what the mock does not do
// (../shared/docs/connectors-notes.md: no read_committed, no fencing).
//
// librdkafka serves the cluster on its own threads; this program's main
// thread only reads stdin and signals. SIGTERM/SIGINT are blocked before
// librdkafka starts its threads (they inherit the mask) and read through a
// signalfd, so no handler runs inside librdkafka.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

std::optional<long> parse_int(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long value = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return value;
}

// An error code from its name (sans RD_KAFKA_RESP_ERR_) or its number.
std::optional<rd_kafka_resp_err_t> parse_error(const std::string& text) {
  if (auto n = parse_int(text)) return static_cast<rd_kafka_resp_err_t>(*n);
  const rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  for (size_t i = 0; i < count; ++i)
    if (descs[i].name && text == descs[i].name) return descs[i].code;
  return std::nullopt;
}

std::string result(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_NO_ERROR ? "ok" : std::string("error ") + rd_kafka_err2name(err);
}

// Runs one command line; returns the answer line (without newline).
std::string run_command(rd_kafka_mock_cluster_t* cluster, const std::string& line, int replication) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  if (words.empty()) return "error empty command";
  const std::string& verb = words[0];

  if ((verb == "broker-down" || verb == "broker-up") && words.size() == 2) {
    auto id = parse_int(words[1]);
    if (!id) return "error bad broker id";
    return result(verb == "broker-down" ? rd_kafka_mock_broker_set_down(cluster, static_cast<int32_t>(*id))
                                        : rd_kafka_mock_broker_set_up(cluster, static_cast<int32_t>(*id)));
  }
  if (verb == "topic" && words.size() == 3) {
    auto partitions = parse_int(words[2]);
    if (!partitions || *partitions < 1) return "error bad partition count";
    return result(rd_kafka_mock_topic_create(cluster, words[1].c_str(), static_cast<int>(*partitions), replication));
  }
  if (verb == "leader" && words.size() == 4) {
    auto partition = parse_int(words[2]);
    auto id = parse_int(words[3]);
    if (!partition || !id) return "error bad partition or broker id";
    return result(rd_kafka_mock_partition_set_leader(cluster, words[1].c_str(), static_cast<int32_t>(*partition),
                                                     static_cast<int32_t>(*id)));
  }
  if (verb == "request-errors" && words.size() >= 3) {
    auto api_key = parse_int(words[1]);
    if (!api_key || *api_key < 0) return "error bad api key";
    std::vector<rd_kafka_resp_err_t> errors;
    for (size_t i = 2; i < words.size(); ++i) {
      auto err = parse_error(words[i]);
      if (!err) return "error unknown error code " + words[i];
      errors.push_back(*err);
    }
    rd_kafka_mock_push_request_errors_array(cluster, static_cast<int16_t>(*api_key), errors.size(), errors.data());
    return "ok";
  }
  return "error unknown command or wrong arguments: " + verb;
}

void answer(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

int usage(const char* why) {
  std::fprintf(stderr, "hearth-kafka-mock: %s\nusage: hearth-kafka-mock [--brokers N] [--topic NAME:PARTITIONS]...\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 3;
  std::vector<std::pair<std::string, int>> topics;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return usage(("missing value after " + arg).c_str());
    std::string value = argv[++i];
    if (arg == "--brokers") {
      auto n = parse_int(value);
      if (!n || *n < 1 || *n > 100) return usage("--brokers wants 1..100");
      brokers = static_cast<int>(*n);
    } else if (arg == "--topic") {
      auto colon = value.rfind(':');
      auto partitions = colon == std::string::npos ? std::nullopt : parse_int(value.substr(colon + 1));
      if (!partitions || *partitions < 1 || colon == 0) return usage("--topic wants NAME:PARTITIONS");
      topics.emplace_back(value.substr(0, colon), static_cast<int>(*partitions));
    } else {
      return usage(("unknown argument " + arg).c_str());
    }
  }

  // Block the stop signals before librdkafka creates its threads.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  int signal_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
  if (signal_fd < 0) {
    std::perror("hearth-kafka-mock: signalfd");
    return 1;
  }
  // A write to a closed stdout must fail (and be ignored), not kill us.
  signal(SIGPIPE, SIG_IGN);

  // The handle only anchors the mock cluster (its brokers run on their own
  // threads); it never produces.
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    std::fprintf(stderr, "hearth-kafka-mock: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!cluster) {
    std::fprintf(stderr, "hearth-kafka-mock: could not start the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  // Replicas on up to three brokers, so that a broker taken down leaves
  // followers (the mock never moves leaders by itself: use `leader`).
  const int replication = brokers < 3 ? brokers : 3;
  for (const auto& [name, partitions] : topics) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, name.c_str(), partitions, replication);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "hearth-kafka-mock: topic %s: %s\n", name.c_str(), rd_kafka_err2str(err));
      rd_kafka_mock_cluster_destroy(cluster);
      rd_kafka_destroy(rk);
      return 1;
    }
  }
  answer(std::string("kafka-mock bootstrap=") + rd_kafka_mock_cluster_bootstraps(cluster));

  // Serve commands until stdin ends or a stop signal arrives.
  std::string pending;
  for (bool running = true; running;) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      std::perror("hearth-kafka-mock: poll");
      break;
    }
    if (fds[1].revents & POLLIN) break;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) running = false;  // EOF (or a dead stdin): stop
      else pending.append(buf, static_cast<size_t>(n));
      for (size_t eol; (eol = pending.find('\n')) != std::string::npos;) {
        std::string line = pending.substr(0, eol);
        pending.erase(0, eol + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        answer(run_command(cluster, line, replication));
      }
    }
  }

  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  close(signal_fd);
  return 0;
}
