/*
 * QEMU TCG plugin: counts guest instructions executed between two addresses, exactly and
 * repeatably. Usage:
 *   qemu-system-arm ... -plugin insn-count.so,start=0xADDR,stop=0xADDR -d plugin
 * It prints "insns N" at exit, N being the instructions executed from the first arrival at
 * `start` to the first arrival at `stop` (the firmware's bench_start/bench_stop markers).
 * With `hist=PATH` it also writes, for every instruction address executed in that window,
 * "ADDR COUNT" lines to PATH: a profile to map to functions or source lines (addr2line).
 *
 * Debian's QEMU loads plugins but ships no qemu-plugin.h, so the few API-v1 declarations
 * used here are written out below (they match QEMU 7.2's include/qemu/qemu-plugin.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };

size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op,
                                                void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            void (*cb)(unsigned int vcpu_index, void *userdata),
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *), void *userdata);
void qemu_plugin_outs(const char *string);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t count;            /* every instruction executed so far */
static uint64_t at_start, at_stop;
static int seen_start, seen_stop;
static uint64_t start_addr, stop_addr;
static const char *hist_path;
/* Executions per halfword address in the window, for the HIST_SPAN bytes of code from
   hist_base (the aligned block that holds `start`: 0 on the mps2 and microbit machines,
   0x1000_0000 on mps2-an505, 0x8000_0000 on RISC-V virt). */
#define HIST_SPAN (1u << 22)
static uint64_t *hist;
static uint64_t hist_base;

static void on_insn(unsigned int vcpu, void *pc) {
    (void)vcpu;
    uint64_t a = (uint64_t)(uintptr_t)pc;
    if (seen_start && !seen_stop && a - hist_base < HIST_SPAN) hist[(a - hist_base) / 2]++;
}

static void on_start(unsigned int vcpu, void *u) {
    (void)vcpu; (void)u;
    if (!seen_start) { seen_start = 1; at_start = count; }
}

static void on_stop(unsigned int vcpu, void *u) {
    (void)vcpu; (void)u;
    if (seen_start && !seen_stop) { seen_stop = 1; at_stop = count; }
}

static void on_tb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        if (pc == start_addr) qemu_plugin_register_vcpu_insn_exec_cb(insn, on_start, QEMU_PLUGIN_CB_NO_REGS, NULL);
        if (pc == stop_addr) qemu_plugin_register_vcpu_insn_exec_cb(insn, on_stop, QEMU_PLUGIN_CB_NO_REGS, NULL);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &count, 1);
        if (hist) qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)pc);
    }
}

static void report_at_exit(qemu_plugin_id_t id, void *u) {
    (void)id; (void)u;
    char line[96];
    if (seen_start && seen_stop)
        snprintf(line, sizeof line, "insns %llu\n", (unsigned long long)(at_stop - at_start));
    else
        snprintf(line, sizeof line, "insns markers-not-reached\n");
    qemu_plugin_outs(line);
    if (hist) {
        FILE *f = fopen(hist_path, "w");
        if (!f) { qemu_plugin_outs("insn-count: cannot write the histogram\n"); return; }
        for (uint64_t a = 0; a < HIST_SPAN / 2; a++)
            if (hist[a]) fprintf(f, "%#llx %llu\n", (unsigned long long)(hist_base + a * 2), (unsigned long long)hist[a]);
        fclose(f);
    }
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++) {
        /* Thumb symbols have bit 0 set; instruction addresses do not. */
        if (strncmp(argv[i], "start=", 6) == 0) start_addr = strtoull(argv[i] + 6, NULL, 0) & ~1ULL;
        if (strncmp(argv[i], "stop=", 5) == 0) stop_addr = strtoull(argv[i] + 5, NULL, 0) & ~1ULL;
        if (strncmp(argv[i], "hist=", 5) == 0) hist_path = argv[i] + 5;
    }
    if (!start_addr || !stop_addr) {
        qemu_plugin_outs("insn-count: pass start=ADDR,stop=ADDR\n");
        return -1;
    }
    hist_base = start_addr & ~(uint64_t)(HIST_SPAN - 1);
    if (hist_path && !(hist = calloc(HIST_SPAN / 2, sizeof *hist))) {
        qemu_plugin_outs("insn-count: out of memory for the histogram\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb);
    qemu_plugin_register_atexit_cb(id, report_at_exit, NULL);
    return 0;
}
