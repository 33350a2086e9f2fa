/* The seccomp check that comes before every injected call (agent/seccomp.h)
 * and the bound on an injected call (agent/inject.h).
 *
 * The evaluator runs on crafted programs, hostile ones included.  Then the
 * fork snapshot is tried on helper processes under a filter of each action
 * seccomp has: the decision must be right, a refused helper must be left
 * running and untouched (it answers on a pipe afterwards, with no child and
 * no SIGSYS), an allowed one is forked and the fork reaped.  Last, calls
 * that block (a read on an empty pipe, a user notification nobody answers)
 * are cut short and the helper carries on. */
#include "../../agent/attach.h"
#include "../../common/interrupt.h"
#include "../../agent/cowfork.h"
#include "../../agent/inject.h"
#include "../../agent/memview.h"
#include "../../agent/procmaps.h"
#include "../../agent/seccomp.h"
#include "../../common/hd_error.h"
#include "tracee.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ST(code, k) BPF_STMT((unsigned short)(code), (k))
#define JMP(code, k, jt, jf) BPF_JUMP((unsigned short)(code), (k), (jt), (jf))
#define LD_NR ST(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LD_ARCH ST(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch))
#define LD_ARG_LO(i) ST(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]))
#define LD_ARG_HI(i) ST(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]) + 4)
#define RET(v) ST(BPF_RET | BPF_K, (v))

/* Docker's default profile allows clone only without these (arg0). */
#define DOCKER_NS_FLAGS                                                                   \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
	 CLONE_NEWCGROUP)

static struct seccomp_call call(long nr, unsigned long arg0, unsigned unknown)
{
	struct seccomp_call c = {.name = "test", .unknown_args = unknown};
	c.data.nr = (int)nr;
	c.data.arch = AUDIT_ARCH_X86_64;
	c.data.instruction_pointer = 0x401002;
	c.data.args[0] = arg0;
	return c;
}

static bool run(const struct sock_filter *prog, size_t len, struct seccomp_call c, uint32_t *ret)
{
	*ret = 0xdeadbeef;
	return seccomp_bpf_decide(prog, len, &c, ret);
}

/* "ACTION for clone, allow the rest", behind the usual arch check. */
#define KILL_ARCH_THEN_ON_CLONE(action)                                          \
	{                                                                        \
		LD_ARCH, JMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),    \
		RET(SECCOMP_RET_KILL_PROCESS), LD_NR,                            \
		JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 1), RET(action),     \
		RET(SECCOMP_RET_ALLOW),                                          \
	}

/* Docker's rule shape as libseccomp compiles it: the masked 64-bit arg0
 * compared word by word; anything not allowed gets EPERM.  Its default
 * action is EPERM too; here the rest is allowed so a helper can live. */
#define DOCKER_CLONE_RULE                                                        \
	{                                                                        \
		LD_ARCH, JMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),    \
		RET(SECCOMP_RET_KILL_PROCESS), LD_NR,                            \
		JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 7), LD_ARG_HI(0),    \
		ST(BPF_ALU | BPF_AND | BPF_K, 0), JMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3), \
		LD_ARG_LO(0), ST(BPF_ALU | BPF_AND | BPF_K, DOCKER_NS_FLAGS),    \
		JMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),                         \
		RET(SECCOMP_RET_ERRNO | EPERM), RET(SECCOMP_RET_ALLOW),          \
	}

Test(seccomp_bpf, decides_the_usual_filter_shapes)
{
	uint32_t r;
	struct sock_filter allow[] = {RET(SECCOMP_RET_ALLOW)};
	cr_assert(run(allow, LEN(allow), call(SYS_clone, 0, 0), &r));
	cr_assert_eq(r, SECCOMP_RET_ALLOW);

	struct sock_filter kill[] = KILL_ARCH_THEN_ON_CLONE(SECCOMP_RET_KILL_PROCESS);
	cr_assert(run(kill, LEN(kill), call(SYS_clone, 0, 0), &r));
	cr_assert_eq(r, SECCOMP_RET_KILL_PROCESS);
	cr_assert(run(kill, LEN(kill), call(SYS_wait4, 0, 0), &r));
	cr_assert_eq(r, SECCOMP_RET_ALLOW);
	struct seccomp_call i386 = call(SYS_wait4, 0, 0);
	i386.data.arch = AUDIT_ARCH_I386;
	cr_assert(seccomp_bpf_decide(kill, LEN(kill), &i386, &r));
	cr_assert_eq(r, SECCOMP_RET_KILL_PROCESS);

	struct sock_filter docker[] = DOCKER_CLONE_RULE;
	cr_assert(run(docker, LEN(docker), call(SYS_clone, CLONE_FILES | CLONE_FS, 0), &r));
	cr_assert_eq(r, SECCOMP_RET_ALLOW);
	cr_assert(run(docker, LEN(docker), call(SYS_clone, CLONE_FILES | CLONE_NEWUSER, 0), &r));
	cr_assert_eq(r, SECCOMP_RET_ERRNO | EPERM);
	cr_assert(run(docker, LEN(docker), call(SYS_clone, 1ul << 40, 0), &r));
	cr_assert_eq(r, SECCOMP_RET_ALLOW, "the high word is masked out");
}

Test(seccomp_bpf, an_unknown_argument_decides_only_when_unread)
{
	uint32_t r;
	/* wait4's pid is not known before the fork: fine when no rule reads it. */
	struct sock_filter docker[] = DOCKER_CLONE_RULE;
	cr_assert(run(docker, LEN(docker), call(SYS_wait4, 0, 1u << 0), &r));
	cr_assert_eq(r, SECCOMP_RET_ALLOW);
	/* The clone rule reads arg0: unknown there means undecidable. */
	cr_assert(!run(docker, LEN(docker), call(SYS_clone, 0, 1u << 0), &r));
	/* An unknown value may be moved and stored, but not returned. */
	struct sock_filter ret_a[] = {LD_ARG_LO(0), ST(BPF_ST, 3), ST(BPF_LD | BPF_MEM, 3),
				      ST(BPF_MISC | BPF_TAX, 0), ST(BPF_MISC | BPF_TXA, 0),
				      ST(BPF_RET | BPF_A, 0)};
	cr_assert(!run(ret_a, LEN(ret_a), call(SYS_wait4, 0, 1u << 0), &r));
	/* Dividing by an unknown may end the program (by 0): undecidable,
	 * even when the result is never looked at; so is shifting by one. */
	struct sock_filter div_x[] = {LD_ARG_LO(0), ST(BPF_MISC | BPF_TAX, 0),
				      ST(BPF_LD | BPF_IMM, 7), ST(BPF_ALU | BPF_DIV | BPF_X, 0),
				      RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(div_x, LEN(div_x), call(SYS_wait4, 0, 1u << 0), &r));
	div_x[3].code = BPF_ALU | BPF_LSH | BPF_X;
	cr_assert(!run(div_x, LEN(div_x), call(SYS_wait4, 0, 1u << 0), &r));
	div_x[3].code = BPF_ALU | BPF_ADD | BPF_X;
	cr_assert(run(div_x, LEN(div_x), call(SYS_wait4, 0, 1u << 0), &r));
	cr_assert_eq(r, SECCOMP_RET_ALLOW);
	cr_assert(run(ret_a, LEN(ret_a), call(SYS_wait4, SECCOMP_RET_ALLOW, 0), &r));
	cr_assert_eq(r, SECCOMP_RET_ALLOW, "0x%x", r);
	/* Other arguments stay known. */
	struct sock_filter on_arg1[] = {LD_ARG_LO(1), JMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
					RET(SECCOMP_RET_ALLOW), RET(SECCOMP_RET_KILL_THREAD)};
	cr_assert(run(on_arg1, LEN(on_arg1), call(SYS_wait4, 0, 1u << 0), &r));
	cr_assert_eq(r, SECCOMP_RET_ALLOW);
}

Test(seccomp_bpf, computes_as_the_kernel_does)
{
	uint32_t r;
	/* (nr * 2 + 6 - 2) / 2 | 0, xor, shifts, neg, len, memory, X operands. */
	struct sock_filter alu[] = {
		LD_NR,
		ST(BPF_ALU | BPF_MUL | BPF_K, 2),
		ST(BPF_ALU | BPF_ADD | BPF_K, 6),
		ST(BPF_ALU | BPF_SUB | BPF_K, 2),
		ST(BPF_ALU | BPF_DIV | BPF_K, 2),
		ST(BPF_ALU | BPF_OR | BPF_K, 0),
		ST(BPF_ALU | BPF_XOR | BPF_K, 0xff),
		ST(BPF_ALU | BPF_XOR | BPF_K, 0xff),
		ST(BPF_ALU | BPF_LSH | BPF_K, 4),
		ST(BPF_ALU | BPF_RSH | BPF_K, 4),
		ST(BPF_ALU | BPF_NEG, 0),
		ST(BPF_ALU | BPF_NEG, 0),
		ST(BPF_LDX | BPF_W | BPF_LEN, 0),
		ST(BPF_STX, 15),
		ST(BPF_LDX | BPF_MEM, 15),
		ST(BPF_ALU | BPF_SUB | BPF_X, 0), /* A = nr + 2 - 64 */
		ST(BPF_ALU | BPF_ADD | BPF_K, 62),
		JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_wait4, 0, 3),
		JMP(BPF_JMP | BPF_JGE | BPF_X, 0, 2, 0), /* nr >= 64 */
		JMP(BPF_JMP | BPF_JSET | BPF_K, 0x40, 1, 0),
		RET(SECCOMP_RET_ALLOW),
		RET(SECCOMP_RET_TRAP),
	};
	cr_assert(run(alu, LEN(alu), call(SYS_wait4, 0, 0), &r));
	cr_assert_eq(r, SECCOMP_RET_ALLOW);
	cr_assert(run(alu, LEN(alu), call(SYS_clone, 0, 0), &r));
	cr_assert_eq(r, SECCOMP_RET_TRAP);
	/* Dividing by a zero X ends the program with 0: KILL_THREAD. */
	struct sock_filter div0[] = {ST(BPF_LDX | BPF_IMM, 0), ST(BPF_ALU | BPF_DIV | BPF_X, 0),
				     RET(SECCOMP_RET_ALLOW)};
	cr_assert(run(div0, LEN(div0), call(SYS_clone, 0, 0), &r));
	cr_assert_eq(r, SECCOMP_RET_KILL_THREAD);
}

Test(seccomp_bpf, refuses_hostile_programs)
{
	uint32_t r;
	struct seccomp_call c = call(SYS_clone, 0, 0);
	struct sock_filter jt_out[] = {LD_NR, JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 200, 0),
				       RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(jt_out, LEN(jt_out), c, &r), "jump past the end");
	struct sock_filter jf_out[] = {LD_NR, JMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
				       RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(jf_out, LEN(jf_out), c, &r), "jump one past the last");
	/* A jump "backwards" can only be a huge forward one. */
	struct sock_filter back[] = {RET(SECCOMP_RET_ALLOW), ST(BPF_JMP | BPF_JA, 0xffffffffu),
				     RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(back + 1, 2, c, &r), "ja -1");
	struct sock_filter ja_far[] = {ST(BPF_JMP | BPF_JA, 1u << 31), RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(ja_far, LEN(ja_far), c, &r));
	struct sock_filter oob[] = {ST(BPF_LD | BPF_W | BPF_ABS, sizeof(struct seccomp_data)),
				    RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(oob, LEN(oob), c, &r), "load past seccomp_data");
	struct sock_filter oob_far[] = {ST(BPF_LD | BPF_W | BPF_ABS, 0xfffffffcu),
					RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(oob_far, LEN(oob_far), c, &r), "load at -4");
	struct sock_filter unaligned[] = {ST(BPF_LD | BPF_W | BPF_ABS, 2), RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(unaligned, LEN(unaligned), c, &r));
	struct sock_filter half[] = {ST(BPF_LD | BPF_H | BPF_ABS, 0), RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(half, LEN(half), c, &r), "seccomp takes words only");
	struct sock_filter ind[] = {ST(BPF_LD | BPF_W | BPF_IND, 0), RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(ind, LEN(ind), c, &r));
	struct sock_filter mod[] = {ST(BPF_ALU | BPF_MOD | BPF_K, 3), RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(mod, LEN(mod), c, &r));
	struct sock_filter div0k[] = {ST(BPF_ALU | BPF_DIV | BPF_K, 0), RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(div0k, LEN(div0k), c, &r));
	struct sock_filter shift[] = {ST(BPF_ALU | BPF_LSH | BPF_K, 32), RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(shift, LEN(shift), c, &r));
	struct sock_filter uninit[] = {ST(BPF_LD | BPF_MEM, 2), ST(BPF_RET | BPF_A, 0)};
	cr_assert(!run(uninit, LEN(uninit), c, &r), "memory read before written");
	struct sock_filter mem_oob[] = {ST(BPF_ST, BPF_MEMWORDS), RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(mem_oob, LEN(mem_oob), c, &r));
	struct sock_filter no_ret[] = {LD_NR, ST(BPF_ALU | BPF_ADD | BPF_K, 1)};
	cr_assert(!run(no_ret, LEN(no_ret), c, &r), "falls off the end");
	struct sock_filter junk[] = {ST(0xff, 0), RET(SECCOMP_RET_ALLOW)};
	cr_assert(!run(junk, LEN(junk), c, &r));
	cr_assert(!seccomp_bpf_decide(junk, 0, &c, &r), "empty");
	cr_assert(!seccomp_bpf_decide(NULL, 1, &c, &r));
	cr_assert_eq(r, 0xdeadbeef, "no verdict leaks from a refused program");
	/* The longest program the kernel takes runs; one more is refused. */
	static struct sock_filter longest[BPF_MAXINSNS + 1];
	for (size_t i = 0; i < LEN(longest); i++)
		longest[i] = (struct sock_filter)ST(BPF_JMP | BPF_JA, 0);
	longest[BPF_MAXINSNS - 1] = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
	cr_assert(run(longest, BPF_MAXINSNS, c, &r));
	cr_assert_eq(r, SECCOMP_RET_ALLOW);
	longest[BPF_MAXINSNS] = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
	cr_assert(!run(longest, BPF_MAXINSNS + 1, c, &r), "longer than BPF_MAXINSNS");
}

/* -------- helpers under a filter -------- */

static char sink[16]; /* where an injected read would write, in the helper */

/* What a helper installs: OLDER (if any) first, then PROG with FLAGS. */
struct filters {
	const struct sock_filter *prog;
	size_t len;
	unsigned flags;
	const struct sock_fprog *older;
};

static int install(const struct sock_fprog *prog, unsigned flags)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog) < 0 ? -1 : 0;
}

static void answer_ping(int in, int out);

/* Installs its filters, says 'R', waits for one byte and reports it.  A
 * USER_NOTIF filter's listener stays open here, never read: a supervisor
 * that never answers. */
static void helper_main(const void *ctx, int in, int out)
{
	const struct filters *fl = ctx;
	struct sock_fprog prog = {(unsigned short)fl->len, (struct sock_filter *)fl->prog};
	if ((fl->older && install(fl->older, 0) != 0) || (fl->prog && install(&prog, fl->flags) != 0))
		_exit(3);
	answer_ping(in, out);
}

/* Says 'R', blocks in a read for one byte and reports what it got. */
static void answer_ping(int in, int out)
{
	if (write(out, "R", 1) != 1)
		_exit(2);
	char c = 0;
	ssize_t n = read(in, &c, 1);
	char report[32];
	snprintf(report, sizeof report, "alive:%zd:%c", n, n == 1 ? c : '-');
	if (write(out, report, strlen(report)) < 0)
		_exit(2);
	_exit(0);
}

static struct tracee helper_start(const struct filters *fl)
{
	struct tracee h = tracee_spawn(helper_main, fl);
	tracee_await_syscall(h.pid, SYS_read);
	return h;
}

/* The helper still runs and was never disturbed: it answers the ping. */
static void helper_answers(struct tracee *h)
{
	cr_assert_str_eq(tracee_finish(h, "p"), "alive:1:p");
}

/* Tries a fork snapshot of H; WANT_REFUSAL is a fragment of the expected
 * refusal, or NULL when the fork must happen. */
static void try_fork(struct tracee *h, const char *want_refusal)
{
	struct hd_target t;
	struct hd_maps maps;
	cr_assert(target_stop(&t, h->pid) == 0, "%s", hd_error_message());
	cr_assert(maps_read(h->pid, &maps) == 0);
	hd_memview *mv = mv_new_process(h->pid);
	struct hd_cowfork f;
	int rc = cowfork_take(&f, &t, mv, &maps, NULL);
	if (want_refusal) {
		cr_assert(rc != 0, "the fork was allowed");
		cr_assert_eq(hd_error_class(), HD_E_SNAPSHOT, "%s", hd_error_message());
		cr_assert(strstr(hd_error_message(), want_refusal), "%s", hd_error_message());
		cr_assert_null(strstr(hd_error_message(), "--"), "options are the CLI's: %s",
			       hd_error_message());
		cr_assert_eq(f.child, 0);
	} else {
		cr_assert(rc == 0, "%s", hd_error_message());
		cr_assert(f.child > 0);
	}
	target_release(&t);
	cr_assert_eq(tracee_children(h->pid), want_refusal ? 0 : 1);
	cr_assert(cowfork_discard(&f) == 0, "%s", hd_error_message());
	cr_assert_eq(tracee_children(h->pid), 0);
	mv_free(mv);
	maps_free(&maps);
	target_free(&t);
	helper_answers(h);
}

Test(seccomp_fork, no_filter_forks)
{
	struct filters none = {0};
	struct tracee h = helper_start(&none);
	try_fork(&h, NULL);
}

/* Each action on clone, behind the usual arch check: only ALLOW forks. */
struct action_case {
	uint32_t action;
	unsigned flags;
	char refusal[40]; /* "": must fork; inline, as the parameters are copied
			   * into the test's process, where pointers differ */
};

ParameterizedTestParameters(seccomp_fork, each_action_on_clone)
{
	static struct action_case cases[] = {
		{SECCOMP_RET_KILL_PROCESS, 0, "KILL_PROCESS to the injected clone"},
		{SECCOMP_RET_KILL_THREAD, 0, "KILL_THREAD to the injected clone"},
		{SECCOMP_RET_TRAP, 0, "TRAP (SIGSYS)"},
		{SECCOMP_RET_ERRNO | EPERM, 0, "ERRNO (1)"},
		{SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER, "USER_NOTIF"},
		{SECCOMP_RET_TRACE, 0, "TRACE"},
		{SECCOMP_RET_LOG, 0, "LOG"},
		{SECCOMP_RET_ALLOW, 0, ""},
	};
	return cr_make_param_array(struct action_case, cases, LEN(cases));
}

ParameterizedTest(struct action_case *c, seccomp_fork, each_action_on_clone)
{
	struct sock_filter p[] = KILL_ARCH_THEN_ON_CLONE(c->action);
	struct filters fl = {p, LEN(p), c->flags, NULL};
	struct tracee h = helper_start(&fl);
	try_fork(&h, c->refusal[0] ? c->refusal : NULL);
}

#define TRY(prog, refusal)                                                   \
	do {                                                                 \
		struct filters fl = {prog, LEN(prog), 0, NULL};               \
		struct tracee h = helper_start(&fl);                         \
		try_fork(&h, refusal);                                       \
	} while (0)

Test(seccomp_fork, errno_on_the_reaping_wait4_refused)
{
	struct sock_filter p[] = {LD_NR, JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_wait4, 0, 1),
				  RET(SECCOMP_RET_ERRNO | EPERM), RET(SECCOMP_RET_ALLOW)};
	TRY(p, "to the injected wait4");
}

Test(seccomp_fork, a_filter_on_the_reaped_pid_refused)
{
	/* Whether wait4 passes depends on a pid unknown before the fork. */
	struct sock_filter p[] = {LD_NR, JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_wait4, 0, 3),
				  LD_ARG_LO(0), JMP(BPF_JMP | BPF_JGT | BPF_K, 1, 0, 1),
				  RET(SECCOMP_RET_KILL_PROCESS), RET(SECCOMP_RET_ALLOW)};
	TRY(p, "cannot tell what its filter");
}

Test(seccomp_fork, unrelated_rules_fork)
{
	struct sock_filter p[] = {LD_ARCH, JMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
				  RET(SECCOMP_RET_KILL_PROCESS), LD_NR,
				  JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ptrace, 1, 0),
				  JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_personality, 0, 1),
				  RET(SECCOMP_RET_ERRNO | EPERM), RET(SECCOMP_RET_ALLOW)};
	TRY(p, NULL);
}

Test(seccomp_fork, docker_clone_rule_forks)
{
	struct sock_filter p[] = DOCKER_CLONE_RULE;
	TRY(p, NULL);
}

Test(seccomp_fork, the_most_restrictive_of_several_filters_wins)
{
	/* Installed last, an ALLOW-all filter does not lift the older ERRNO;
	 * the chain is read whole. */
	struct sock_filter errno_clone[] = KILL_ARCH_THEN_ON_CLONE(SECCOMP_RET_ERRNO | EPERM);
	struct sock_fprog older = {LEN(errno_clone), errno_clone};
	struct sock_filter allow[] = {RET(SECCOMP_RET_ALLOW)};
	struct filters fl = {allow, LEN(allow), 0, &older};
	struct tracee h = helper_start(&fl);
	try_fork(&h, "ERRNO (1)");
}

/* The kernel runs the newest filter first and keeps the first of equal
 * actions: the newest filter's errno is the one the call would fail with. */
Test(seccomp_fork, of_equal_actions_the_newest_filter_names_the_errno)
{
	struct sock_filter eperm[] = KILL_ARCH_THEN_ON_CLONE(SECCOMP_RET_ERRNO | EPERM);
	struct sock_fprog older = {LEN(eperm), eperm};
	struct sock_filter eacces[] = KILL_ARCH_THEN_ON_CLONE(SECCOMP_RET_ERRNO | EACCES);
	struct filters fl = {eacces, LEN(eacces), 0, &older};
	struct tracee h = helper_start(&fl);
	try_fork(&h, "ERRNO (13)");
}

/* What the kernel itself answers: a helper under the same two filters. */
Test(seccomp_fork, the_kernel_agrees_on_the_errno)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct sock_filter eperm[] = KILL_ARCH_THEN_ON_CLONE(SECCOMP_RET_ERRNO | EPERM);
		struct sock_fprog older = {LEN(eperm), eperm};
		struct sock_filter eacces[] = KILL_ARCH_THEN_ON_CLONE(SECCOMP_RET_ERRNO | EACCES);
		struct sock_fprog newer = {LEN(eacces), eacces};
		if (install(&older, 0) != 0 || install(&newer, 0) != 0)
			_exit(1);
		long r = syscall(SYS_clone, CLONE_FILES | CLONE_FS, 0, 0, 0, 0);
		_exit(r == -1 && errno == EACCES ? 0 : 2);
	}
	int status;
	cr_assert(waitpid(pid, &status, 0) == pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
}

/* Without CAP_SYS_ADMIN the kernel will not show a thread's filters
 * (EACCES): a filtered target is refused, an unfiltered one still forks. */
static void drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	cr_assert(syscall(SYS_capget, &hdr, data) == 0);
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	cr_assert(syscall(SYS_capset, &hdr, data) == 0);
}

Test(seccomp_fork, unreadable_filters_refused)
{
	drop_sys_admin(); /* this test's process only */
	struct sock_filter allow[] = {RET(SECCOMP_RET_ALLOW)};
	TRY(allow, "needs CAP_SYS_ADMIN");
	struct filters none = {0};
	struct tracee h = helper_start(&none);
	try_fork(&h, NULL);
}

/* -------- the bound on an injected call -------- */

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* Sends SIGTERM to this process once the helper sleeps in the read that
 * was injected into it (its buffer is SINK), as a user would to hdump. */
struct watch {
	pid_t pid;
	pthread_t thread;
};

static void *term_when_injected(void *arg)
{
	const struct watch *w = arg;
	if (tracee_wait_syscall_arg(w->pid, SYS_read, 1, (unsigned long)(uintptr_t)sink) == 0)
		kill(getpid(), SIGTERM);
	return NULL;
}

/* Injects NR(ARGS) into H, which must not return: it is cut after the
 * bound (or at once when BY_SIGNAL: hdump gets SIGTERM meanwhile), the
 * helper's registers are put back, and it runs on. */
static void expect_cut(struct tracee *h, long nr, const long args[6], bool by_signal)
{
	struct hd_target t;
	struct hd_maps maps;
	cr_assert(target_stop(&t, h->pid) == 0, "%s", hd_error_message());
	cr_assert(maps_read(h->pid, &maps) == 0);
	hd_memview *mv = mv_new_process(h->pid);
	uint64_t site;
	cr_assert(inject_find_site(mv, &maps, &t, NULL, &site) == 0, "%s", hd_error_message());
	struct hd_injected r;
	int sig = 0;
	struct watch w = {h->pid, 0};
	if (by_signal) {
		hd_install_signal_handlers();
		cr_assert(pthread_create(&w.thread, NULL, term_when_injected, &w) == 0);
	}
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	cr_assert(inject_syscall(h->pid, site, nr, args, &r, &sig) != 0, "the call returned");
	long took = elapsed_ms(&start);
	if (by_signal) {
		/* Cut by the signal, not by the bound: the class and the
		 * signal's number say so, whatever the machine's speed. */
		pthread_join(w.thread, NULL);
		cr_assert_eq(hd_error_class(), HD_E_INTERRUPTED, "%s", hd_error_message());
		cr_assert(strstr(hd_error_message(), "signal 15"), "%s", hd_error_message());
	} else {
		cr_assert_eq(hd_error_class(), HD_E_SNAPSHOT, "%s", hd_error_message());
		cr_assert(strstr(hd_error_message(), "did not return within"), "%s", hd_error_message());
		cr_assert(took >= INJECT_TIMEOUT_MS, "cut after %ld ms, before the bound", took);
	}
	cr_assert_eq(sig, 0);
	mv_free(mv);
	maps_free(&maps);
	target_free(&t);
	helper_answers(h);
}

Test(inject_bound, a_blocking_read_is_cut_and_the_thread_restored, .timeout = 60)
{
	struct filters none = {0};
	struct tracee h = helper_start(&none);
	/* The helper's own pipe is empty: a read of it blocks.  The helper is
	 * a fork of this process, so SINK has the same address there. */
	long args[6] = {h.child_in, (long)(uintptr_t)sink, 1, 0, 0, 0};
	expect_cut(&h, SYS_read, args, false);
}

Test(inject_bound, a_signal_to_hdump_cuts_the_call_at_once, .timeout = 60)
{
	struct filters none = {0};
	struct tracee h = helper_start(&none);
	long args[6] = {h.child_in, (long)(uintptr_t)sink, 1, 0, 0, 0};
	expect_cut(&h, SYS_read, args, true);
}

Test(inject_bound, a_user_notification_nobody_answers_is_cut, .timeout = 60)
{
	/* The issue's hang: a supervisor that never answers. */
	struct sock_filter p[] = {LD_NR, JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
				  RET(SECCOMP_RET_USER_NOTIF), RET(SECCOMP_RET_ALLOW)};
	struct filters fl = {p, LEN(p), SECCOMP_FILTER_FLAG_NEW_LISTENER, NULL};
	struct tracee h = helper_start(&fl);
	long args[6] = {0};
	expect_cut(&h, SYS_getppid, args, false);
}

/* -------- a call the interrupt cannot end -------- */

/* Pipes between the test and the supervisor of a killable helper. */
struct killable {
	int notified[2]; /* 'N': the supervisor holds the notification */
	int quit[2];     /* 'q': the supervisor may go */
};

#define NOTIFY_GETPPID                                                           \
	{                                                                        \
		LD_NR, JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),            \
		RET(SECCOMP_RET_USER_NOTIF), RET(SECCOMP_RET_ALLOW),             \
	}

static bool killable_recv_supported(void)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct sock_filter p[] = NOTIFY_GETPPID;
		struct sock_fprog prog = {LEN(p), p};
		_exit(install(&prog, SECCOMP_FILTER_FLAG_NEW_LISTENER |
					     SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) == 0 ? 0 : 1);
	}
	int status;
	cr_assert(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* getppid goes to a supervisor (a child of the helper) under
 * WAIT_KILLABLE_RECV: once the supervisor has received the notification,
 * the call waits killably only, which PTRACE_INTERRUPT does not end.  The
 * supervisor never answers; it says 'N' and leaves when told, and the
 * call then fails with ENOSYS. */
static void killable_helper_main(const void *ctx, int in, int out)
{
	const struct killable *k = ctx;
	struct sock_filter p[] = NOTIFY_GETPPID;
	struct sock_fprog prog = {LEN(p), p};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		_exit(3);
	int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				    SECCOMP_FILTER_FLAG_NEW_LISTENER |
					    SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
				    &prog);
	if (listener < 0)
		_exit(3);
	pid_t supervisor = fork();
	if (supervisor < 0)
		_exit(4);
	if (supervisor == 0) {
		struct seccomp_notif n;
		memset(&n, 0, sizeof n);
		char c;
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &n) != 0 ||
		    write(k->notified[1], "N", 1) != 1 || read(k->quit[0], &c, 1) < 0)
			_exit(5);
		_exit(0);
	}
	close(listener);
	answer_ping(in, out);
}

struct releaser {
	const struct killable *k;
	pthread_t thread;
	bool notified;
};

/* Once the notification is held, lets hdump's bound and the interrupt's
 * run out (waiting on time is the point here: hdump's own deadlines), then
 * lets the supervisor go. */
static void *release_after_the_bound(void *arg)
{
	struct releaser *r = arg;
	struct pollfd p = {r->k->notified[0], POLLIN, 0};
	char c;
	r->notified = poll(&p, 1, 30000) == 1 && read(r->k->notified[0], &c, 1) == 1 && c == 'N';
	struct timespec since, pause = {0, 10000000L};
	clock_gettime(CLOCK_MONOTONIC, &since);
	while (r->notified && elapsed_ms(&since) < 3 * INJECT_TIMEOUT_MS)
		nanosleep(&pause, NULL);
	if (write(r->k->quit[1], "q", 1) != 1)
		r->notified = false;
	return NULL;
}

/* A call the interrupt cannot end is waited out: the thread is not let go
 * with the injected registers (it would return into the middle of the
 * target's code), it gets its own back, and the helper runs on. */
Test(inject_bound, a_call_the_interrupt_cannot_end_is_waited_out, .timeout = 60)
{
	if (!killable_recv_supported())
		cr_skip_test("no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19+) here");
	struct killable k;
	cr_assert(pipe(k.notified) == 0 && pipe(k.quit) == 0);
	struct tracee h = tracee_spawn(killable_helper_main, &k);
	close(k.notified[1]);
	close(k.quit[0]);
	tracee_await_syscall(h.pid, SYS_read);
	struct hd_target t;
	struct hd_maps maps;
	cr_assert(target_stop(&t, h.pid) == 0, "%s", hd_error_message());
	cr_assert(maps_read(h.pid, &maps) == 0);
	hd_memview *mv = mv_new_process(h.pid);
	uint64_t site;
	cr_assert(inject_find_site(mv, &maps, &t, NULL, &site) == 0, "%s", hd_error_message());
	struct user_regs_struct before, after;
	cr_assert(ptrace(PTRACE_GETREGS, h.pid, 0, &before) == 0);

	struct releaser rel = {&k, 0, false};
	cr_assert(pthread_create(&rel.thread, NULL, release_after_the_bound, &rel) == 0);
	struct hd_injected r;
	int sig = 0;
	long args[6] = {0};
	cr_assert(inject_syscall(h.pid, site, SYS_getppid, args, &r, &sig) != 0, "the call returned");
	pthread_join(rel.thread, NULL);
	cr_assert(rel.notified, "the supervisor never held the notification");
	cr_assert_eq(hd_error_class(), HD_E_SNAPSHOT, "%s", hd_error_message());
	cr_assert(strstr(hd_error_message(), "did not return within"), "%s", hd_error_message());

	/* Its own registers, the read it was in to be restarted. */
	cr_assert(ptrace(PTRACE_GETREGS, h.pid, 0, &after) == 0, "the thread was let go");
	cr_assert_eq(after.rsp, before.rsp);
	cr_assert_eq(after.rdi, before.rdi);
	cr_assert_eq(after.rsi, before.rsi);
	cr_assert_eq(after.rdx, before.rdx);
	cr_assert_eq(after.rbx, before.rbx);
	cr_assert_eq(after.rip, before.rip - INJECT_SYSCALL_LEN);
	cr_assert_eq(after.rax, before.orig_rax);

	target_release(&t);
	mv_free(mv);
	maps_free(&maps);
	target_free(&t);
	close(k.notified[0]);
	close(k.quit[1]);
	helper_answers(&h);
}
