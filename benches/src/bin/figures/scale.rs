//! The `scale` figure: 100,000 periodic timers, kadenz against tokio.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::common::{Variant, NO_IO};
use crate::many_timers::many_timers;
use crate::Flags;

pub(crate) fn scale(flags: &Flags) {
    // As it was always measured: runtimes without the IO driver (no precise timer here).
    NO_IO.store(true, Relaxed);
    let variants = [Variant::Default, Variant::Tokio];
    let count = flags.timers;
    let period = Duration::from_millis(100);
    println!(
        "## Scale: {count} periodic timers of {period:?}, one task each, 2 worker threads \
         ({} rounds of K T / T K, {:.1} s measured per phase after {:.1} s of warm-up; one \
         discarded phase first)",
        flags.rounds, flags.scale_secs, flags.warm_up_secs
    );
    println!();
    many_timers(
        "scale",
        &[(count, period)],
        &variants,
        flags.rounds,
        Duration::from_secs_f64(flags.warm_up_secs),
        Duration::from_secs_f64(flags.scale_secs),
    );
}
