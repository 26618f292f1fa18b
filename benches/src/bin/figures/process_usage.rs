//! What the process used: CPU time, sleeps and preemptions, from `/proc` (Linux only).

use std::time::Duration;

/// What the process has used so far.
#[derive(Clone, Copy, Default)]
pub(crate) struct Usage {
    /// User + system time of the process from `/proc/self/stat` (`getrusage(RUSAGE_SELF)`),
    /// in clock ticks; threads that ended are included.
    stat_ticks: u64,
    /// On-CPU time of the live threads (`/proc/self/task/*/schedstat`), in nanoseconds.
    sched_ns: u64,
    /// Times a thread went to sleep (voluntary context switches), every live thread.
    sleeps: u64,
    /// Times a thread was preempted (involuntary context switches), every live thread.
    preemptions: u64,
    /// On-CPU time of the timer threads (kadenz's `kadenz-precise`, and `floor`), in ns.
    timer_thread_ns: u64,
    /// Times the timer threads went to sleep.
    timer_thread_sleeps: u64,
}

/// The names of the threads that wait on a timerfd: kadenz's driver, and the floor's.
const TIMER_THREADS: [&str; 2] = ["kadenz-precise", "floor"];

/// USER_HZ, the unit of `/proc/self/stat`'s times: 100 on every architecture Linux has.
const CLOCK_TICKS_PER_SEC: f64 = 100.0;

impl Usage {
    pub(crate) fn now() -> Option<Usage> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The command name, in parentheses, may hold spaces: count from its end. Fields 14
        // and 15 of proc(5) (utime, stime) are then the 12th and 13th.
        let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        let mut usage = Usage {
            stat_ticks: utime + stime,
            ..Usage::default()
        };
        for task in std::fs::read_dir("/proc/self/task").ok()? {
            // A thread may end between the listing and the reads: it is skipped.
            if let Some(thread) = Usage::thread(&task.ok()?.path()) {
                usage = usage.plus(thread);
            }
        }
        Some(usage)
    }

    /// One thread's on-CPU time and context switches.
    fn thread(dir: &std::path::Path) -> Option<Usage> {
        let schedstat = std::fs::read_to_string(dir.join("schedstat")).ok()?;
        let status = std::fs::read_to_string(dir.join("status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|value| value.trim().parse().ok())
        };
        let sched_ns = schedstat.split_whitespace().next()?.parse().ok()?;
        let sleeps = field("voluntary_ctxt_switches:")?;
        let name = status.lines().find_map(|line| line.strip_prefix("Name:"))?;
        let timer_thread = TIMER_THREADS.contains(&name.trim());
        Some(Usage {
            stat_ticks: 0,
            sched_ns,
            sleeps,
            preemptions: field("nonvoluntary_ctxt_switches:")?,
            timer_thread_ns: if timer_thread { sched_ns } else { 0 },
            timer_thread_sleeps: if timer_thread { sleeps } else { 0 },
        })
    }

    fn since(self, before: Usage) -> Usage {
        Usage {
            stat_ticks: self.stat_ticks.saturating_sub(before.stat_ticks),
            sched_ns: self.sched_ns.saturating_sub(before.sched_ns),
            sleeps: self.sleeps.saturating_sub(before.sleeps),
            preemptions: self.preemptions.saturating_sub(before.preemptions),
            timer_thread_ns: self.timer_thread_ns.saturating_sub(before.timer_thread_ns),
            timer_thread_sleeps: self
                .timer_thread_sleeps
                .saturating_sub(before.timer_thread_sleeps),
        }
    }

    fn plus(self, other: Usage) -> Usage {
        Usage {
            stat_ticks: self.stat_ticks + other.stat_ticks,
            sched_ns: self.sched_ns + other.sched_ns,
            sleeps: self.sleeps + other.sleeps,
            preemptions: self.preemptions + other.preemptions,
            timer_thread_ns: self.timer_thread_ns + other.timer_thread_ns,
            timer_thread_sleeps: self.timer_thread_sleeps + other.timer_thread_sleeps,
        }
    }
}

/// The usage of a phase: `None` if one of the readings failed.
pub(crate) fn usage_since(before: Option<Usage>) -> Option<Usage> {
    Usage::now()
        .zip(before)
        .map(|(after, before)| after.since(before))
}

/// Adds a phase's usage to `total`, which stays `None` once a reading has failed.
pub(crate) fn add_usage(total: &mut Option<Usage>, usage: Option<Usage>) {
    *total = total.zip(usage).map(|(a, b)| a.plus(b));
}

/// Per second of `wall`: CPU ms from `/proc/self/stat`, CPU ms from schedstat, sleeps,
/// preemptions, the timer threads' CPU ms and sleeps.
pub(crate) fn per_sec(usage: Option<Usage>, wall: Duration) -> [Option<f64>; 6] {
    let secs = wall.as_secs_f64();
    let Some(usage) = usage.filter(|_| secs > 0.0) else {
        return [None; 6];
    };
    [
        Some(usage.stat_ticks as f64 / CLOCK_TICKS_PER_SEC * 1e3 / secs),
        Some(usage.sched_ns as f64 / 1e6 / secs),
        Some(usage.sleeps as f64 / secs),
        Some(usage.preemptions as f64 / secs),
        Some(usage.timer_thread_ns as f64 / 1e6 / secs),
        Some(usage.timer_thread_sleeps as f64 / secs),
    ]
}
