//! The timeline pictures of the policy documentation: each built-in
//! policy run through the same scripted stall under tokio's paused clock, and drawn from
//! what the timer delivered.
//!
//! A timer with an interval of 1 s, whose first tick is due at its start, and a receiver
//! that is ready for ticks at 0 s, then busy until 1.2 s, 2.3 s, 4.3 s and 5.1 s (it takes
//! every tick that has come due each time it is ready), then waits for each tick: the
//! scenario of the policy documentation, and of frequenz-channels' diagrams. Each picture
//! shows the due times, the delivered ticks with their drifts (stacked where a burst
//! delivers several at once) and the due times the policy skipped.
//!
//! It writes `docs/timeline-<policy>.svg` for `trigger-all-missed`,
//! `skip-missed-and-resync`, `skip-missed-and-drift` (tolerance 0.1 s) and
//! `trigger-missed-up-to` (at most 2, after one long stall: 1.2 s to 5.3 s), and
//! `docs/timelines.md`, the same pictures as `data:` URIs for rustdoc (docs.rs serves no
//! file of the repository, so `src/policy.rs` includes this file under each policy's
//! picture, which names its `data:` URI by reference). Its test (`cargo test` runs it) fails
//! when the committed files differ from what this generates, so after changing the timer
//! or the drawing, run it and commit the result:
//!
//! ```text
//! cargo run --example timeline
//! ```

mod pictures;

use std::path::Path;

fn main() {
    // The paused clock: the runs take no real time, and every tick is exact.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    let files = runtime.block_on(pictures::generate());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in files {
        let path = root.join(&file.path);
        let unchanged = std::fs::read_to_string(&path).is_ok_and(|old| old == file.contents);
        if unchanged {
            println!("{} (unchanged)", file.path);
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
        }
        std::fs::write(&path, &file.contents)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        println!("{} (written)", file.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed timeline pictures (`docs/`) are what this example generates now: the
    /// same runs under the paused clock, the same drawing, byte for byte.
    #[tokio::test(start_paused = true)]
    async fn the_committed_timelines_are_current() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = pictures::generate().await;
        assert_eq!(files.len(), 5, "four pictures and their references");
        for file in files {
            let committed = std::fs::read_to_string(root.join(&file.path)).unwrap_or_default();
            assert!(
                committed == file.contents,
                "{} differs from what the timeline example generates now \
                 (run `cargo run --example timeline` and commit the result)",
                file.path
            );
        }
    }
}
