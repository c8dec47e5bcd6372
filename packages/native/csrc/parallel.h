// A small fork-join helper: the kernels split their work into independent tasks and run them on the machine's
// cores. BLAS calls made inside a task run single-threaded (the task split already uses every core).
#pragma once
#include <functional>

namespace iv2 {

int threads();
void set_threads(int n);
/** Cores this process may run on (the affinity mask on Linux). */
int default_threads();

/** fn(i) for every i in [0, n), spread over up to threads() threads (the caller is one of them). */
void parallel_for(int n, const std::function<void(int)>& fn);

/** BLAS thread count for a scope: 1 inside parallel_for tasks, threads() for a single large product. */
class BlasThreads {
 public:
  explicit BlasThreads(int n);
  ~BlasThreads();

 private:
  int saved_;
};

void blas_set_threads(int n);

}  // namespace iv2
