// set_thread_name (declared in supervision.h) on its own: code that names a thread without
// being supervised (vigil verify's hashing thread) links it without the supervisor's logging.
#include <pthread.h>

#include "core/supervision.h"

namespace vigil {

void set_thread_name(std::string_view name) {
  char buf[16] = {};
  name.copy(buf, sizeof buf - 1);
  pthread_setname_np(pthread_self(), buf);
}

}  // namespace vigil
