/* The floor of bench/run_fs.py: plain blocking read()/pread() loops, as cat and dd do.
 * Same command line and output as fs_aio (TASKS: the reads are done one after another,
 * each "task" with its own descriptor and offsets, in turn). Prints
 *   <bytes read> <wall seconds> <process CPU seconds> */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

static uint64_t next_offset(uint64_t* state, uint64_t blocks, uint64_t block) {
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return ((*state >> 33) % blocks) * block;
}

int main(int argc, char** argv) {
  if (argc < 4 || (strcmp(argv[1], "seq") != 0 && argc < 5)) {
    fprintf(stderr, "usage: fs_c seq FILE BLOCK | fs_c random FILE BLOCK COUNT [TASKS]\n");
    return 2;
  }
  const size_t block = (size_t)atol(argv[3]);
  char* buf = malloc(block);
  uint64_t total = 0;
  const double cpu0 = cpu_seconds(), t0 = now();
  if (strcmp(argv[1], "seq") == 0) {
    int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0) return perror("open"), 1;
    ssize_t n;
    while ((n = read(fd, buf, block)) > 0) total += (uint64_t)n;
    close(fd);
  } else {
    const long count = atol(argv[4]);
    const long tasks = argc > 5 ? atol(argv[5]) : 1;
    for (long t = 0; t < tasks; ++t) {
      int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
      if (fd < 0) return perror("open"), 1;
      struct stat st;
      fstat(fd, &st);
      const uint64_t blocks = (uint64_t)st.st_size / block;
      uint64_t state = (uint64_t)t + 1;
      for (long i = 0; i < count / tasks; ++i) {
        ssize_t n = pread(fd, buf, block, (off_t)next_offset(&state, blocks, block));
        if (n > 0) total += (uint64_t)n;
      }
      close(fd);
    }
  }
  printf("%llu %.6f %.6f\n", (unsigned long long)total, now() - t0, cpu_seconds() - cpu0);
  free(buf);
  return 0;
}
