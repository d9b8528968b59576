/* The floor for the `spawn` benchmark (bench/run_core.py --bench spawn): a blocking C loop
 * of posix_spawn("/bin/true") + waitpid, no event loop at all.
 *
 * Usage: spawn_floor [N]   (default 1000; prints microseconds per process)
 * Run it pinned like the benchmark: taskset -c 1 build/dev/bench/spawn_floor
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char** environ;

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  char* child_argv[] = {"/bin/true", NULL};
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (int i = 0; i < n; i++) {
    pid_t pid;
    if (posix_spawn(&pid, "/bin/true", NULL, NULL, child_argv, environ) != 0) {
      perror("posix_spawn");
      return 1;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) {
      perror("waitpid");
      return 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  double ns = (double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec);
  printf("%.0f us/process\n", ns / n / 1000.0);
  return 0;
}
