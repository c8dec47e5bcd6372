#include "parallel.h"

#include <algorithm>
#include <atomic>
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

void parallel_for(int n, const std::function<void(int)>& fn) {
  const int t = std::min(threads(), n);
  if (t <= 1) {
    for (int i = 0; i < n; i++) fn(i);
    return;
  }
  std::atomic<int> next{0};
  auto work = [&]() {
    for (int i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  pool.reserve(t - 1);
  for (int i = 1; i < t; i++) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
}

}  // namespace iv2
