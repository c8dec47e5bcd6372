#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#ifdef __linux__
#include <sched.h>
#endif

#ifndef IV2_ACCELERATE
extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
}
#endif

namespace iv2 {

namespace {
int g_threads = 0;
int g_blas_threads = 0;
}  // namespace

int default_threads() {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

int threads() {
  if (g_threads <= 0) g_threads = default_threads();
  return g_threads;
}

void blas_set_threads(int n) {
#ifndef IV2_ACCELERATE
  if (n != g_blas_threads) openblas_set_num_threads(n);
#endif
  g_blas_threads = n;
}

void set_threads(int n) {
  g_threads = n > 0 ? n : default_threads();
  blas_set_threads(g_threads);
}

BlasThreads::BlasThreads(int n) : saved_(g_blas_threads) { blas_set_threads(n); }
BlasThreads::~BlasThreads() { blas_set_threads(saved_ > 0 ? saved_ : threads()); }

namespace {
// Helper threads that live as long as the process and wait for work. A job is claimed task by task through one
// 64-bit counter holding (job number, next task), so a helper that wakes late cannot take a task of a later job,
// and the caller waits only for tasks a helper has actually started: on a loaded machine a helper that is not
// scheduled in time costs nothing (the caller runs the tasks itself). Creating threads per call did not have that.
class Pool {
 public:
  void run(int n, const std::function<void(int)>& fn) {
    std::unique_lock<std::mutex> lock(mu_);  // one job at a time (calls come from the JS thread)
    resize(threads() - 1);
    {
      std::lock_guard<std::mutex> g(state_);
      fn_ = &fn;
      n_ = n;
      job_++;
      done_.store(0);
      next_.store(uint64_t(job_) << 32);
    }
    wake_.notify_all();
    work(job_, n, fn);
    // Every task has been claimed; wait for the ones still running on helpers.
    for (int spin = 0; done_.load() < n; spin++) {
      if (spin < 2000) continue;
      std::unique_lock<std::mutex> g(state_);
      finished_.wait_for(g, std::chrono::microseconds(50), [&] { return done_.load() >= n; });
    }
  }

  ~Pool() { resize(0); }

 private:
  void work(uint32_t job, int n, const std::function<void(int)>& fn) {
    for (;;) {
      uint64_t v = next_.load();
      if (uint32_t(v >> 32) != job || int(uint32_t(v)) >= n) return;
      if (!next_.compare_exchange_weak(v, v + 1)) continue;
      fn(int(uint32_t(v)));
      if (done_.fetch_add(1) + 1 == n) {
        std::lock_guard<std::mutex> g(state_);
        finished_.notify_all();
      }
    }
  }

  void helper(uint32_t seen) {  // seen: the job current when the helper starts; it is over and not for this helper
    for (;;) {
      const std::function<void(int)>* fn;
      int n;
      uint32_t job;
      {
        std::unique_lock<std::mutex> g(state_);
        wake_.wait(g, [&] { return stop_ || job_ != seen; });
        if (stop_) return;
        seen = job = job_;
        fn = fn_;
        n = n_;
      }
      work(job, n, *fn);
    }
  }

  void resize(int helpers) {
    if (int(pool_.size()) == helpers) return;
    {
      std::lock_guard<std::mutex> g(state_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : pool_) t.join();
    pool_.clear();
    stop_ = false;
    for (int i = 0; i < helpers; i++) pool_.emplace_back([this, job = job_] { helper(job); });
  }

  std::mutex mu_, state_;
  std::condition_variable wake_, finished_;
  std::vector<std::thread> pool_;
  const std::function<void(int)>* fn_ = nullptr;
  int n_ = 0;
  uint32_t job_ = 0;
  bool stop_ = false;
  std::atomic<uint64_t> next_{0};
  std::atomic<int> done_{0};
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: helpers may outlive static destruction at exit
  return *p;
}

thread_local bool in_task = false;
}  // namespace

void parallel_for(int n, const std::function<void(int)>& fn) {
  const int t = std::min(threads(), n);
  if (t <= 1 || in_task) {  // nested calls run inline
    for (int i = 0; i < n; i++) fn(i);
    return;
  }
  pool().run(n, [&](int i) {
    const bool outer = in_task;
    in_task = true;
    fn(i);
    in_task = outer;
  });
}

}  // namespace iv2
