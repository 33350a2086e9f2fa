#include "fault.h"

bool (*hd_fault_hook)(enum hd_fault_point point, pid_t pid);
