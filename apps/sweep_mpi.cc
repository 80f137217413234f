// `mpirun -np N cohort sweep FILE`: rank 0 hands cell indices to ranks as they
// ask (dynamic scheduling: a rank that finishes takes the next cell) and runs
// cells itself between messages. Only cell indices and exit states travel;
// every rank writes its cells' run directories into the shared output
// directory, so the result is the same directory a local run produces.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <thread>

#include <sys/wait.h>

#include "apps/sweep.h"

#include <csignal>
#include <memory>

#ifdef COHORT_WITH_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only (the C++ bindings warn and are deprecated)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace cohort {

bool UnderMpirun() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

namespace {

#ifdef COHORT_WITH_MPI
constexpr int kRequestTag = 1;  // worker -> 0: {finished cell or -1, 1 if it succeeded}
constexpr int kAssignTag = 2;   // 0 -> worker: cell index, or -1 to stop

// 1: done, 0: failed, 2: interrupted by a stop signal (no error.json: a rerun resumes it).
int RunOne(const Sweep& sweep, const SweepCell& cell, const SweepOptions& options) {
  const pid_t pid = LaunchCell(sweep, cell, options);
  int status = 0;
  bool forwarded = false;
  while (waitpid(pid, &status, 0) < 0) {
    if (options.Stopping() && !forwarded) {
      kill(pid, SIGTERM);  // the cell checkpoints and exits
      forwarded = true;
    }
  }
  if (options.Stopping() && StateOf(options.out_dir, cell) != CellState::kDone) return 2;
  RecordCellResult(options.out_dir, cell, ExitCodeOf(status));
  return StateOf(options.out_dir, cell) == CellState::kDone ? 1 : 0;
}

SweepTotals RunSweepMpi(const Sweep& sweep, const SweepOptions& options) {
  // Children are forked from ranks; they never call MPI.
  setenv("OMPI_MCA_mpi_warn_on_fork", "0", 0);
  MPI_Init(nullptr, nullptr);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  SweepTotals totals;
  if (rank != 0) {
    int64_t msg[2] = {-1, 0};
    for (;;) {
      MPI_Send(msg, 2, MPI_INT64_T, 0, kRequestTag, MPI_COMM_WORLD);
      int64_t index = -1;
      MPI_Recv(&index, 1, MPI_INT64_T, 0, kAssignTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (index < 0) break;
      msg[0] = index;
      msg[1] = RunOne(sweep, sweep.cells[index], options);
    }
    MPI_Finalize();
    totals.total = -1;
    return totals;
  }
  std::unique_ptr<SweepLock> lock;
  try {
    PrepareSweepDir(sweep, options.out_dir);
    lock = std::make_unique<SweepLock>(options.out_dir, options.shard, options.shards, options.quiet);
  } catch (const InputError& e) {
    for (const Problem& p : e.problems()) std::fprintf(stderr, "error: %s\n", p.ToString().c_str());
    MPI_Abort(MPI_COMM_WORLD, kInputErrorExitCode);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  std::vector<int64_t> pending;
  for (const SweepCell& c : sweep.cells) {
    if (!options.InShard(c)) continue;
    ++totals.total;
    if (StateOf(options.out_dir, c) == CellState::kDone)
      ++totals.skipped;
    else
      pending.push_back(c.index);
  }
  SweepProgress progress(options.quiet);
  size_t next = 0;
  int stopped = 0;
  pid_t own = -1;
  int64_t own_cell = -1;
  int running = 0;
  bool forwarded = false;
  while (stopped < size - 1 || own >= 0 || next < pending.size()) {
    bool busy = false;
    if (options.Stopping()) {
      next = pending.size();  // nothing new starts; workers are told to stop
      if (own >= 0 && !forwarded) kill(own, SIGTERM);
      forwarded = true;
    }
    if (own < 0 && next < pending.size()) {
      own_cell = pending[next++];
      own = LaunchCell(sweep, sweep.cells[own_cell], options);
      ++running;
      busy = true;
    }
    int flag = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, kRequestTag, MPI_COMM_WORLD, &flag, &status);
    if (flag) {
      int64_t msg[2];
      MPI_Recv(msg, 2, MPI_INT64_T, status.MPI_SOURCE, kRequestTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (msg[0] >= 0) {
        (msg[1] == 2 ? totals.interrupted : msg[1] ? totals.done : totals.failed)++;
        --running;
      }
      int64_t assign = next < pending.size() ? pending[next++] : -1;
      if (assign >= 0)
        ++running;
      else
        ++stopped;
      MPI_Send(&assign, 1, MPI_INT64_T, status.MPI_SOURCE, kAssignTag, MPI_COMM_WORLD);
      busy = true;
    }
    if (own >= 0) {
      int wstatus = 0;
      if (waitpid(own, &wstatus, WNOHANG) == own) {
        const SweepCell c = sweep.cells[own_cell];
        if (forwarded && StateOf(options.out_dir, c) != CellState::kDone) {
          ++totals.interrupted;
        } else {
          RecordCellResult(options.out_dir, c, ExitCodeOf(wstatus));
          (StateOf(options.out_dir, c) == CellState::kDone ? totals.done : totals.failed)++;
        }
        own = -1;
        --running;
        busy = true;
      }
    }
    if (busy)
      progress.Update(totals, running);
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  progress.Update(totals, 0);
  MPI_Finalize();
  return totals;
}
#endif

}  // namespace

SweepTotals RunSweepDistributed(const Sweep& sweep, const SweepOptions& options) {
  if (UnderMpirun()) {
#ifdef COHORT_WITH_MPI
    return RunSweepMpi(sweep, options);
#else
    throw std::runtime_error(
        "cohort was built without MPI, so under mpirun every rank would run the whole sweep; "
        "install libopenmpi-dev and rebuild, or run without mpirun (--jobs N)");
#endif
  }
  return RunSweepLocal(sweep, options);
}

}  // namespace cohort
