# runtime/gdb/spindle.py — gdb's view of spindle threads, live or in a core file.
#
# Concept: gdb knows kernel threads; green threads are records on the heap and stacks
# spindle mapped, and a parked one's registers are words on its own stack where
# Boost.Context's jump_fcontext pushed them. This extension reads both through the
# library's debug info, by field name (never by offset, so that a change of the record's
# layout cannot silently break it), and gives gdb three commands:
#   info spindle-threads     every green thread of every scheduler, every clone thread
#   spindle-thread ID|off    make a parked green thread's registers gdb's frames
#   spindle-bt all|ID...     a backtrace of every (or of the named) green threads
# It is installed as the library's auto-load script
# (share/gdb/auto-load/<libdir>/libspindle.so.<version>-gdb.py, runtime/meson.build) and
# copied beside the library in the build tree, so gdb loads it with the library.
# Explained in: docs/13-debugging.md. Read next: runtime/green/context.cpp.
import gdb
import gdb.unwinder

GREEN = "spindle::green::detail::"
CLONE = "spindle::clone::detail::"


# --- Reading spindle's records -------------------------------------------------------

def _string(value):
    """A std::string's text, read through libstdc++'s field names."""
    try:
        plus = value["_M_dataplus"]["_M_p"]
        return plus.string(length=int(value["_M_string_length"]))
    except gdb.error:
        return str(value)


def _c_string(pointer):
    try:
        return pointer.string() if int(pointer) else ""
    except gdb.error:
        return "?"


def _enum_name(value):
    return str(value).split("::")[-1]


def _address(pointer):
    if isinstance(pointer, _Record):
        return int(pointer)
    return int(pointer.cast(gdb.lookup_type("unsigned long")))


class _Record:
    """A pointer to a thread record, whose fields are read by name at the offsets the
    debug info gives, without dereferencing the record as a whole: a record is
    polymorphic, and gdb would look for its dynamic type (a task template of the
    program's) at every access, warning when its RTTI symbol is missing."""

    def __init__(self, pointer):
        self.pointer = pointer
        self.type = pointer.type.strip_typedefs().target().strip_typedefs()

    def __int__(self):
        return _address(self.pointer)

    def __getitem__(self, name):
        for f in self.type.fields():
            if f.name == name:
                where = int(self) + f.bitpos // 8
                return gdb.Value(where).cast(f.type.pointer()).dereference()
        raise gdb.GdbError("spindle: %s has no field %s: is this extension as old as the "
                           "library?" % (self.type, name))


def _linked(first, link):
    """The records of an intrusive list, starting at pointer `first`, linked by `link`."""
    r = _Record(first)
    seen = 0
    while int(r) != 0 and seen < 1000000:
        yield r
        r = _Record(r[link])
        seen += 1


def _lookup(expression):
    """A C++ expression's value, whatever the selected frame's language (a frame in
    assembly, such as syscall(), would not parse `a::b`)."""
    language = gdb.parameter("language")
    gdb.execute("set language c++", to_string=True)
    try:
        return gdb.parse_and_eval(expression)
    except gdb.error:
        return None
    finally:
        gdb.execute("set language " + language, to_string=True)


def green_schedulers():
    first = _lookup(GREEN + "all_schedulers")
    if first is None:
        raise gdb.GdbError(
            "spindle: no debug info for spindle::green::detail::all_schedulers: is this "
            "program linked with libspindle, and was the library built with debug info "
            "(meson's -Ddebug=true, the default)?")
    return list(_linked(first, "listed_next_"))


def _green_state(r):
    st = _enum_name(r["st"])
    if st == "blocked" and _c_string(r["waiting_on"]["what"]) == "sleep":
        return "sleeping"
    if st == "finished" and not bool(r["detached"]):
        return "finished-unjoined"
    return st


def _holder_text(why):
    """Who must act for a blocked thread, as the deadlock report names it."""
    holder = _Record(why["holder"])
    if int(holder) != 0:
        return "thread %d" % int(holder["id"])
    function = why["holder_id"]
    if int(function) == 0:
        return ""
    # The holder of a mutex changes while threads wait: read its owner field (the
    # report calls holder_id, which a core file cannot run).
    what = _c_string(why["what"])
    if what == "mutex":
        for mutex_type in ("spindle::green::mutex", "spindle::clone::mutex"):
            if mutex_type.split("::")[1] in str(function):
                owner = why["object"].cast(gdb.lookup_type(mutex_type).pointer())["owner_"]
                try:
                    owner = owner["_M_i"]
                except gdb.error:
                    pass
                return "thread %d" % int(owner) if int(owner) else ""
    return ""


def wait_text(r):
    """What a blocked thread waits on: the kind, the object, and who holds it."""
    why = r["waiting_on"]
    what = _c_string(why["what"])
    if what == "join":
        return "join of thread %d" % int(_Record(why["holder"])["id"])
    text = what
    if int(why["object"]) != 0:
        text += " 0x%x" % _address(why["object"])
    holder = _holder_text(why)
    if holder:
        text += ", held by " + holder
    return text


def green_threads(s):
    """The green threads of scheduler pointer `s`, root thread included (not its loop)."""
    return list(_linked(s["all_"], "all_next"))


def _stack_text(s, r):
    if _address(r) == _address(s["root_"].address):
        return "kernel stack"
    stack = r["stack"]
    low = _address(stack["low"])
    size = int(stack["size"])
    kind = "guarded" if int(stack["guard"]) != 0 else "pooled"
    return "%s [0x%x, 0x%x)" % (kind, low, low + size)


def find_green(thread_id):
    for s in green_schedulers():
        for r in green_threads(s):
            if int(r["id"]) == thread_id:
                return s, r
    return None, None


def kernel_thread_of(tid):
    """gdb's thread for kernel thread `tid`, or None."""
    inferior = gdb.selected_inferior()
    threads = inferior.threads()
    for t in threads:
        if t.ptid[1] == tid:
            return t
    # In a child made by fork() the one kernel thread has a new tid.
    return threads[0] if len(threads) == 1 else None


def clone_records():
    lot = _lookup("'" + CLONE + "parking_lot::instance()::lot'")
    if lot is None or int(lot) == 0:
        return []
    return list(_linked(lot["all_"], "all_next"))


def clone_tid(r):
    if bool(r["detached"]):
        return None  # its kernel_thread may be reused once detached
    kernel = r["kernel"]
    if int(kernel) == 0:
        return None
    try:
        return int(kernel["listed"]["tid"].dereference()["_M_i"])
    except gdb.error:
        return None


# --- Frames of a parked green thread ---------------------------------------------------

# Where jump_fcontext left each register, as word offsets from the saved context (the
# stack pointer after its pushes): the x86-64 System V layout of Boost.Context 1.74,
# checked in docs/13-debugging.md against its disassembly. Word 0 holds MXCSR and the
# x87 control word; the return address is the word above the six callee-saved registers,
# and the stack pointer at that return is the word above it. Another architecture needs
# its own table (aarch64: x19-x29, lr, d8-d15) and its register names.
FCONTEXT_X86_64 = {"r12": 1, "r13": 2, "r14": 3, "r15": 4, "rbx": 5, "rbp": 6, "rip": 7}
FCONTEXT_X86_64_SP_WORD = 8


def saved_registers(context):
    """The registers a parked thread resumes with, read from its saved context."""
    arch = gdb.selected_frame().architecture().name()
    if "x86-64" not in arch:
        raise gdb.GdbError("spindle: reading a saved context is written for x86-64 only, "
                           "not " + arch)
    words = context.cast(gdb.lookup_type("unsigned long").pointer())
    registers = {name: int(words[index]) for name, index in FCONTEXT_X86_64.items()}
    registers["rsp"] = _address(context) + 8 * FCONTEXT_X86_64_SP_WORD
    return registers


class _FrameId:
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class GreenThreadUnwinder(gdb.unwinder.Unwinder):
    """While a green thread is chosen (spindle-thread), the innermost frame of its kernel
    thread unwinds into the green thread's saved registers: gdb keeps frame #0 (the
    kernel thread's real registers, which only the target supplies) and frame #1 on are
    the green thread's, from the return into scheduler::jump_to down to its entry."""

    def __init__(self):
        super().__init__("spindle green threads")
        self.registers = None  # the chosen thread's saved registers
        self.tid = None        # the kernel thread whose frames they replace

    def __call__(self, pending_frame):
        if self.registers is None or pending_frame.level() != 0:
            return None
        if gdb.selected_thread() is None or gdb.selected_thread().ptid[1] != self.tid:
            return None
        # Frame #0's identity: its real pc, but as stack address the saved context, which
        # lies just below the green thread's frames. gdb refuses a caller whose frame is
        # inner to (below) its callee's, as a sign of a corrupt stack; with the kernel
        # stack's address here, the green stack (mapped lower) would look like that.
        pc = pending_frame.read_register("rip")
        sp_type = pending_frame.read_register("rsp").type
        below = self.registers["rsp"] - 8 * FCONTEXT_X86_64_SP_WORD
        info = pending_frame.create_unwind_info(_FrameId(gdb.Value(below).cast(sp_type), pc))
        long_type = gdb.lookup_type("unsigned long")
        for name, value in self.registers.items():
            info.add_saved_register(name, gdb.Value(value).cast(long_type))
        return info


unwinder = GreenThreadUnwinder()
gdb.unwinder.register_unwinder(None, unwinder, replace=True)


def choose_green(thread_id):
    """Selects the kernel thread of green thread `thread_id` and, if it is parked, its
    frames. Returns the record."""
    s, r = find_green(thread_id)
    if r is None:
        raise gdb.GdbError("spindle: no green thread %d (info spindle-threads lists them)"
                           % thread_id)
    kernel = kernel_thread_of(int(s["kernel_tid_"]))
    if kernel is None:
        raise gdb.GdbError("spindle: the kernel thread %d of green thread %d is gone"
                           % (int(s["kernel_tid_"]), thread_id))
    kernel.switch()
    unwinder.registers = None
    if int(r["context"]) != 0:
        unwinder.registers = saved_registers(r["context"])
        unwinder.tid = kernel.ptid[1]
    gdb.invalidate_cached_frames()
    return r


def release_green():
    unwinder.registers = None
    gdb.invalidate_cached_frames()


# --- The commands --------------------------------------------------------------------

class InfoSpindleThreads(gdb.Command):
    """List every spindle thread: id, name, state, what it waits on, stack.

Green threads are grouped by scheduler (one per kernel thread, named by its tid); the
thread marked * is running there. Clone threads follow, with their kernel tid."""

    def __init__(self):
        super().__init__("info spindle-threads", gdb.COMMAND_STATUS)

    def invoke(self, argument, from_tty):
        for s in green_schedulers():
            running = _address(s["running_"])
            gdb.write("green scheduler of kernel thread %d:\n" % int(s["kernel_tid_"]))
            for r in green_threads(s):
                mark = "*" if _address(r) == running else " "
                state = _green_state(r)
                waits = " on " + wait_text(r) if state in ("blocked", "sleeping") else ""
                gdb.write("%s %4d %-18s %-17s%s\n" % (mark, int(r["id"]), '"%s"' %
                          _string(r["name"]), state, waits))
                gdb.write("         stack: %s\n" % _stack_text(s, r))
        records = clone_records()
        if records:
            gdb.write("clone threads:\n")
        for r in records:
            tid = clone_tid(r)
            state = _enum_name(r["st"])
            if state == "blocked" and _c_string(r["waiting_on"]["what"]) == "sleep":
                state = "sleeping"
            waits = " on " + wait_text(r) if state in ("blocked", "sleeping") else ""
            gdb.write("  %4d %-18s %-17s%s\n" % (int(r["id"]), '"%s"' % _string(r["name"]),
                                                 state, waits))
            gdb.write("         kernel tid: %s\n" % (tid if tid else "- (a root thread)"))


class SpindleThread(gdb.Command):
    """Select a spindle thread: spindle-thread ID, or spindle-thread off.

For a parked green thread, its saved registers become the frames of its kernel thread
from frame #1 on (frame #0 stays the kernel thread's own), and frame #1 is selected: bt,
frame, up, down and info locals then show the green thread. For the running green thread
or a clone thread, its kernel thread is selected. `spindle-thread off` (or gdb's own
`thread N`, followed by `spindle-thread off`) gives the kernel thread its own frames back."""

    def __init__(self):
        super().__init__("spindle-thread", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        argument = argument.strip()
        if argument in ("", "off"):
            release_green()
            gdb.write("spindle: kernel threads show their own frames again\n")
            return
        try:
            thread_id = int(argument, 0)
        except ValueError:
            raise gdb.GdbError("spindle-thread: expected a spindle thread id or 'off', not "
                               + argument)
        for r in clone_records():
            if int(r["id"]) == thread_id:
                tid = clone_tid(r)
                kernel = kernel_thread_of(tid) if tid else None
                if kernel is None:
                    raise gdb.GdbError("spindle: clone thread %d has no kernel thread to "
                                       "select" % thread_id)
                release_green()
                kernel.switch()
                gdb.write('clone thread %d "%s" is kernel thread %d (gdb thread %d)\n'
                          % (thread_id, _string(r["name"]), tid, kernel.num))
                return
        r = choose_green(thread_id)
        if unwinder.registers is None:
            gdb.write("spindle: green thread %d is running: its kernel thread is selected\n"
                      % thread_id)
            return
        gdb.newest_frame().older().select()
        gdb.write('spindle: green thread %d "%s", parked; frame #1 is its innermost frame\n'
                  % (thread_id, _string(r["name"])))


def _backtrace(limit):
    frame = gdb.selected_frame()
    level = frame.level()
    while frame is not None and limit > 0:
        function = frame.function()
        name = frame.name() or "??"
        where = ""
        sal = frame.find_sal()
        if sal.symtab is not None:
            where = " at %s:%d" % (sal.symtab.filename, sal.line)
        elif function is None:
            where = " (pc 0x%x)" % frame.pc()
        gdb.write("  #%-2d %s%s\n" % (level, name, where))
        if name.endswith("thread_entry"):
            break  # below it lies make_fcontext's first frame: nothing called it
        frame = frame.older()
        level += 1
        limit -= 1


class SpindleBacktrace(gdb.Command):
    """Backtrace green threads: spindle-bt all, or spindle-bt ID... .

Each parked thread's frames from its saved registers; the running thread's from its
kernel thread. The selection is given back afterwards."""

    def __init__(self):
        super().__init__("spindle-bt", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        words = argument.split()
        if not words:
            raise gdb.GdbError("spindle-bt: say 'all' or give green thread ids")
        if words == ["all"]:
            ids = [int(r["id"]) for s in green_schedulers() for r in green_threads(s)]
        else:
            ids = [int(w, 0) for w in words]
        original = gdb.selected_thread()
        try:
            for thread_id in ids:
                r = choose_green(thread_id)
                state = _green_state(r)
                gdb.write('green thread %d "%s" (%s):\n' % (thread_id, _string(r["name"]),
                                                             state))
                if state in ("finished", "finished-unjoined"):
                    gdb.write("  (finished: no frames)\n")
                    continue
                if unwinder.registers is not None:
                    gdb.newest_frame().older().select()
                else:
                    gdb.newest_frame().select()
                _backtrace(64)
        finally:
            release_green()
            if original is not None and original.is_valid():
                original.switch()


InfoSpindleThreads()
SpindleThread()
SpindleBacktrace()
