#!/usr/bin/python3
"""bench/face_opencv.py: OpenCV's side of bench/face (reference, Debian's
python3-opencv; run with /usr/bin/python3, not a pyenv python).

  face_opencv.py mkimage SRC.gray.png OUT.png   2x2 tiles of SRC -> OUT (gray PNG)
  face_opencv.py boxes OUT.txt FIXTURE.json...  default-cascade landmark boxes,
                                                lines "PATH X Y W H"
  face_opencv.py detect IMAGE.png               the timings

detect: CascadeClassifier.detectMultiScale(gray, scaleFactor=1.1,
minNeighbors=3, flags=0, minSize=(30, 30)) with OpenCL off, for
haarcascade_frontalface_default and lbpcascade_frontalface_improved.
  1 thread:  cv2.setNumThreads(1), one warm-up, median of BENCH_RUNS calls.
  N threads, internal: cv2.setNumThreads(N), latency of one call (median).
  N threads, throughput: cv2.setNumThreads(1) and N Python threads (the
    bindings release the GIL), each with its own copy of the image and its
    own classifier, DET_REPS calls each; ms per detection = wall /
    detections, median of BENCH_RUNS rounds. The same method as bench/face.c.
Prints lines for bench/face: "boxes <cascade> x,y,w,h ...", "det <cascade>
<threads> <ms>", "detpar <cascade> <threads> <ms>" (internal parallelism).
"""
import json
import os
import statistics
import sys
import threading
import time

import cv2
import numpy as np

DET_REPS = 2  # same as bench/face.c
CASCADES = [
    ("haarcascade_frontalface_default", "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"),
    ("lbpcascade_frontalface_improved", "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface_improved.xml"),
]


def detect(clf, img):
    return clf.detectMultiScale(img, scaleFactor=1.1, minNeighbors=3, flags=0, minSize=(30, 30))


def mkimage(src, out):
    g = cv2.imread(src, cv2.IMREAD_UNCHANGED)
    assert g is not None and g.ndim == 2 and g.dtype == np.uint8, src
    cv2.imwrite(out, np.tile(g, (2, 2)))
    back = cv2.imread(out, cv2.IMREAD_UNCHANGED)
    assert back.ndim == 2 and (back == np.tile(g, (2, 2))).all()


def boxes(out, fixtures):
    with open(out, "w") as f:
        for js in fixtures:
            d = json.load(open(js))
            png = os.path.join(os.path.dirname(os.path.abspath(js)), d["gray_image"])
            for lm in d["landmarks"]:
                x, y, w, h = lm["detection"]
                f.write(f"{png} {x} {y} {w} {h}\n")


def bench(path):
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    nt = int(os.environ.get("BENCH_THREADS", str(os.cpu_count())))
    cv2.ocl.setUseOpenCL(False)
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert img is not None and img.ndim == 2, path
    print(f"opencv {cv2.__version__}", flush=True)
    for name, xml in CASCADES:
        clf = cv2.CascadeClassifier(xml)
        assert not clf.empty(), xml
        cv2.setNumThreads(1)
        found = sorted(tuple(int(v) for v in b) for b in detect(clf, img))
        print(f"boxes {name}" + "".join(" %d,%d,%d,%d" % b for b in found))
        t = []
        for _ in range(runs):
            t0 = time.perf_counter()
            detect(clf, img)
            t.append((time.perf_counter() - t0) * 1e3)
        print(f"det {name} 1 {statistics.median(t):.3f}")

        cv2.setNumThreads(nt)
        detect(clf, img)
        t = []
        for _ in range(runs):
            t0 = time.perf_counter()
            detect(clf, img)
            t.append((time.perf_counter() - t0) * 1e3)
        print(f"detpar {name} {nt} {statistics.median(t):.3f}")

        cv2.setNumThreads(1)
        clfs = [cv2.CascadeClassifier(xml) for _ in range(nt)]
        imgs = [img.copy() for _ in range(nt)]

        def rnd():
            go = threading.Barrier(nt + 1)
            done = threading.Barrier(nt + 1)

            def work(i):
                go.wait()
                for _ in range(DET_REPS):
                    detect(clfs[i], imgs[i])
                done.wait()

            th = [threading.Thread(target=work, args=(i,)) for i in range(nt)]
            for x in th:
                x.start()
            go.wait()
            t0 = time.perf_counter()
            done.wait()
            wall = time.perf_counter() - t0
            for x in th:
                x.join()
            return wall * 1e3 / (nt * DET_REPS)

        rnd()
        t = [rnd() for _ in range(runs)]
        print(f"det {name} {nt} {statistics.median(t):.3f}", flush=True)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "mkimage" and len(sys.argv) == 4:
        mkimage(sys.argv[2], sys.argv[3])
    elif cmd == "boxes" and len(sys.argv) >= 4:
        boxes(sys.argv[2], sys.argv[3:])
    elif cmd == "detect" and len(sys.argv) == 3:
        bench(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
