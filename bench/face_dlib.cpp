// bench/face_dlib.cpp: dlib's side of bench/face (reference harness, not
// part of Mira). Times dlib::shape_predictor on the same boxes and images as
// bench/face.c, with the same method: one run = LM_PASSES passes over all
// boxes, us per fit = run time / fits, median of BENCH_RUNS runs after a
// warm-up run; all cores: BENCH_THREADS threads sharing the const predictor,
// each doing a whole run at once, us per fit = wall time / all fits.
//
// Built by bench/face into build-bench/:
//   g++ -O2 -std=c++14 bench/face_dlib.cpp $(pkg-config --cflags --libs dlib-1)
// Usage: face_dlib BOXES.txt   (lines "PATH X Y W H", a gray PNG each)
// Prints: "lmhash <fnv-1a of the points>", "lm <threads> <us per fit>".
#include <dlib/image_io.h>
#include <dlib/image_processing.h>
#include <dlib/revision.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

const int LM_PASSES = 50;  // same as bench/face.c
const char *MODEL = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

struct job {
  const dlib::array2d<unsigned char> *img;
  dlib::rectangle rect;
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

volatile long sink;

void run(const dlib::shape_predictor &sp, const std::vector<job> &jobs) {
  long s = 0;
  for (int p = 0; p < LM_PASSES; p++)
    for (const job &j : jobs) s += sp(*j.img, j.rect).part(0).x();
  sink = s;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: face_dlib BOXES.txt\n");
    return 2;
  }
  int runs = 5, nt = (int)std::thread::hardware_concurrency();
  if (std::getenv("BENCH_RUNS")) runs = std::max(1, std::atoi(std::getenv("BENCH_RUNS")));
  if (std::getenv("BENCH_THREADS")) nt = std::max(1, std::atoi(std::getenv("BENCH_THREADS")));

  dlib::shape_predictor sp;
  dlib::deserialize(MODEL) >> sp;

  std::map<std::string, std::unique_ptr<dlib::array2d<unsigned char>>> images;
  std::vector<job> jobs;
  std::ifstream in(argv[1]);
  std::string path;
  long x, y, w, h;
  while (in >> path >> x >> y >> w >> h) {
    auto &img = images[path];
    if (!img) {
      img.reset(new dlib::array2d<unsigned char>);
      dlib::load_image(*img, path);
    }
    // Mira's box [x, y, w, h] is dlib's rectangle with inclusive right/bottom.
    jobs.push_back({img.get(), dlib::rectangle(x, y, x + w - 1, y + h - 1)});
  }
  if (jobs.empty()) {
    std::fprintf(stderr, "face_dlib: no boxes in %s\n", argv[1]);
    return 1;
  }

  uint64_t hash = 1469598103934665603ull;  // FNV-1a, as bench/face.c
  for (const job &j : jobs) {
    dlib::full_object_detection d = sp(*j.img, j.rect);
    for (unsigned long i = 0; i < d.num_parts(); i++) {
      long v[2] = {d.part(i).x(), d.part(i).y()};
      for (long k : v) hash = (hash ^ (uint64_t)(int64_t)k) * 1099511628211ull;
    }
  }
  std::printf("lmhash %016" PRIx64 "\n", hash);

  const double fits = (double)LM_PASSES * jobs.size();
  std::vector<double> t(runs);
  run(sp, jobs);  // warm-up
  for (int r = 0; r < runs; r++) {
    double t0 = now_s();
    run(sp, jobs);
    t[r] = (now_s() - t0) * 1e6 / fits;
  }
  std::printf("lm 1 %.3f\n", median(t));

  auto round_wall = [&]() {
    std::vector<std::thread> th;
    double t0 = now_s();
    for (int i = 0; i < nt; i++) th.emplace_back([&] { run(sp, jobs); });
    for (auto &x : th) x.join();
    return now_s() - t0;
  };
  round_wall();  // warm-up
  for (int r = 0; r < runs; r++) t[r] = round_wall() * 1e6 / (fits * nt);
  std::printf("lm %d %.3f\n", nt, median(t));
  std::printf("dlib %d.%d.%d\n", DLIB_MAJOR_VERSION, DLIB_MINOR_VERSION, DLIB_PATCH_VERSION);
  return 0;
}
