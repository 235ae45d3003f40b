/* The pod sandbox's process (what registry.k8s.io/pause does): sleep until told to stop.
 * Built with `gcc -static` into an image FROM scratch by dev/devstack/images.py. */
#include <signal.h>
#include <unistd.h>

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

int main(void) {
  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  for (;;) pause();
}
