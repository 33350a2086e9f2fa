/* The kernel's internal "restart me" codes (include/linux/errno.h).  User
 * space never sees them, but a tracer does: in rax at a stop inside an
 * interrupted system call, and as the return value of an injected call cut
 * short by a signal. */
#ifndef HD_KERNEL_RESTART_H
#define HD_KERNEL_RESTART_H

#define K_ERESTARTSYS 512
#define K_ERESTARTNOINTR 513 /* always restarted: fork's "a signal came in, call again" */
#define K_ERESTARTNOHAND 514
#define K_ERESTART_RESTARTBLOCK 516

#endif
