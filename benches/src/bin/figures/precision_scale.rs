//! The `precision-scale` figure: 1,000 and 10,000 precise timers against kadenz's default
//! timers and tokio's `Interval`.

use std::time::Duration;

use crate::common::{note_without_precise, Variant};
use crate::many_timers::many_timers;
use crate::Flags;

pub(crate) fn precision_scale(flags: &Flags) {
    let variants = Variant::compared(flags, false);
    println!(
        "## Precision at scale: one task per timer, 2 worker threads ({} rounds; each \
         round, for each set of timers, one phase per timer kind in the order {}, rotated by \
         one every round; {:.1} s measured per phase after {:.1} s of warm-up; one discarded \
         phase first)",
        flags.precision_scale_rounds,
        Variant::names(&variants),
        flags.precision_scale_secs,
        flags.precision_scale_warm_up_secs
    );
    println!();
    note_without_precise();
    many_timers(
        "precision-scale",
        &[
            (1_000, Duration::from_millis(1)),
            (10_000, Duration::from_millis(10)),
        ],
        &variants,
        flags.precision_scale_rounds,
        Duration::from_secs_f64(flags.precision_scale_warm_up_secs),
        Duration::from_secs_f64(flags.precision_scale_secs),
    );
}
