//! The committed timeline pictures (`docs/`) are what `examples/timeline` generates now:
//! the same runs under the paused clock, the same drawing, byte for byte.

#[path = "../examples/timeline/pictures.rs"]
#[allow(dead_code)] // the example's entry points that this test does not call
mod pictures;

use std::path::Path;

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
