"""C programs for the probe tests, compiled in the test with gcc, and tracefs checks."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

PROGRAM = r"""
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noipa)) long add3(long a, int b, long c) { return a + b + c; }
__attribute__((noipa)) int slen(const char *s) { return (int)strlen(s); }
__attribute__((noipa)) int outer(int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += (int)add3(i, 2, 3);
  return s;
}
__attribute__((noipa)) unsigned tag(unsigned x) { return x ^ 0xdeadbeefu; }
__attribute__((noipa)) int pair(const char *s, int n, const char *t) {
  return (int)strlen(s) + n + (int)strlen(t);
}
__attribute__((noipa)) const char *name_of(int i) { return i ? "one" : "zero"; }
__attribute__((noipa)) long spin(long n) {
  long s = 0;
  for (long i = 0; i < n; i++) s += add3(i, 1, 0);
  return s;
}

static void *worker(void *arg) {
  long base = (long)arg;
  for (int i = 0; i < 3; i++) add3(base, i, 0);
  return NULL;
}

static void basic(void) {
  for (int i = 0; i < 5; i++) add3(i, -1, 100);
  slen("hello");
  slen("probe world");
  outer(3);
  tag(1);
  name_of(0);
  name_of(1);
  pair("pq", -7, "xyz");
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "basic";
  if (!strcmp(mode, "basic")) {
    basic();
  } else if (!strcmp(mode, "fork")) {
    add3(1, 1, 1);
    pid_t child = fork();
    if (child == 0) { add3(2, 2, 2); add3(3, 3, 3); _exit(0); }
    waitpid(child, NULL, 0);
    add3(4, 4, 4);
  } else if (!strcmp(mode, "exec")) {
    add3(7, 7, 7);
    execl(argv[2], argv[2], "basic", (char *)0);
    return 127;
  } else if (!strcmp(mode, "dlopen")) {
    add3(9, 9, 9);
    void *handle = dlopen(argv[2], RTLD_NOW);
    if (!handle) { fprintf(stderr, "%s\n", dlerror()); return 2; }
    long (*twice)(long) = (long (*)(long))dlsym(handle, "plug_twice");
    for (int i = 0; i < 4; i++) twice(i);
  } else if (!strcmp(mode, "threads")) {
    pthread_t a, b;
    pthread_create(&a, NULL, worker, (void *)100);
    pthread_join(a, NULL);
    pthread_create(&b, NULL, worker, (void *)200);
    pthread_join(b, NULL);
    add3(300, 0, 0);
  } else if (!strcmp(mode, "rename")) {
    add3(1, 0, 0);
    prctl(PR_SET_NAME, "renamed");
    add3(2, 0, 0);
  } else if (!strcmp(mode, "renames")) {
    /* 3 hits as prog, 2 as renamed, 3 in a thread created after the rename (named after
       its creator then), 1 as again after a write to /proc/self/comm */
    for (int i = 0; i < 3; i++) add3(10 + i, 0, 0);
    prctl(PR_SET_NAME, "renamed");
    for (int i = 0; i < 2; i++) add3(20 + i, 0, 0);
    pthread_t a;
    pthread_create(&a, NULL, worker, (void *)100);
    pthread_join(a, NULL);
    FILE *comm = fopen("/proc/self/comm", "w");
    if (!comm || fputs("again", comm) < 0 || fclose(comm)) return 4;
    add3(30, 0, 0);
  } else if (!strcmp(mode, "wait_rename")) {
    char c;
    if (read(0, &c, 1) != 1) return 3;
    add3(1, 0, 0);
    prctl(PR_SET_NAME, "renamed");
    add3(2, 0, 0);
  } else if (!strcmp(mode, "wait")) {
    char c;
    if (read(0, &c, 1) != 1) return 3;
    basic();
  } else if (!strcmp(mode, "spin")) {
    struct timespec t0, t1;
    long n = atol(argv[2]);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long s = spin(n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    printf("%ld %.1f\n", s, ns / (n ? n : 1));
  }
  return 0;
}
"""

PLUGIN = r"""
__attribute__((noipa)) long plug_twice(long x) { return 2 * x + PLUG_BIAS; }
"""

BUILDS = {
    "pie": ["-O1", "-fPIE", "-pie"],
    "nopie": ["-O1", "-fno-pie", "-no-pie"],
    "fp": ["-O0", "-fno-omit-frame-pointer", "-fPIE", "-pie"],
    "cet": ["-O2", "-fomit-frame-pointer", "-fcf-protection=full", "-fPIE", "-pie"],
}


def gcc() -> str:
    path = shutil.which("gcc")
    if path is None:
        pytest.skip("gcc is not installed")
    return path


def build_program(directory: Path, build: str = "pie", name: str = "prog") -> Path:
    source = directory / "prog.c"
    source.write_text(PROGRAM)
    out = directory / name
    subprocess.run([gcc(), *BUILDS[build], "-o", str(out), str(source), "-ldl", "-pthread"],
                   check=True)
    return out


def build_plugin(directory: Path, bias: int = 0) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "plug.c"
    source.write_text(PLUGIN)
    out = directory / "libplug.so"
    subprocess.run([gcc(), "-O1", "-shared", "-fPIC", f"-DPLUG_BIAS={bias}", "-o", str(out),
                    str(source)], check=True)
    return out


def tracefs_root() -> str:
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            fields = line.split()
            if fields[2] == "tracefs":
                return fields[1]
    return "/sys/kernel/tracing"


def groups_of(pid: int) -> list[str]:
    """uprobe_events lines of the groups a recorder with this pid owns."""
    path = os.path.join(tracefs_root(), "uprobe_events")
    try:
        with open(path) as events:
            return [line for line in events if f":ktr_{pid}_" in line]
    except FileNotFoundError:
        return []


def release_and_finish(target: subprocess.Popen[bytes],
                       recorder: subprocess.Popen[str]) -> str:
    """Let a target that waits for one byte on its stdin go on; it and the recorder
    attached to it must both exit 0. Returns the recorder's stderr."""
    assert target.stdin is not None
    target.stdin.write(b"x")
    target.stdin.close()
    assert target.wait(20) == 0
    _, stderr = recorder.communicate(timeout=20)
    assert recorder.returncode == 0, stderr
    return stderr
