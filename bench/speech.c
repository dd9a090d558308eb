/* bench/speech: see bench/README.md (being written). */
int main(void) { return 1; }
