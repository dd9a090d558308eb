/* Structural similarity (Wang et al. 2004) of two RGB frames, on luma (the
 * BT.601 weights OpenCV uses), over 8x8 windows every 4 px, with the usual
 * constants (K1 0.01, K2 0.03, L 255). 1 = identical; a frame that tears or
 * pops against its neighbour drops well below 0.9.
 * Thread-safe; allocates nothing.
 */
#ifndef MIRA_ENGINES_IMAGE_SSIM_H
#define MIRA_ENGINES_IMAGE_SSIM_H

#include <stdint.h>

double mira_ssim_rgb(const uint8_t *a, const uint8_t *b, int w, int h, int stride);

#endif
