//! Every link of `README.md` works where the README is read: on the repository page, on
//! the registry (crates.io) and on docs.rs, where it is the crate documentation.
//!
//! Rustdoc's own links (`[text](Timer::tick)`, `` [`Tick`] ``) show as raw brackets
//! everywhere else, and a relative link (`LICENSE-MIT`) is broken on docs.rs. So the
//! README links to docs.rs pages and to the web, and rustdoc takes the same labels from
//! files that `src/lib.rs` gives it first: `docs/rustdoc-links.md` (intra-doc links,
//! written by `cargo run -p kadenz-tools --bin readme-links`) and `docs/timelines.md`
//! (the pictures as data). CONTRIBUTING.md, "Links in the README", has the rules.

#[path = "common/markdown.rs"]
#[allow(dead_code)] // what only the readme-links tool uses
mod markdown;

use std::collections::BTreeSet;
use std::path::Path;

use markdown::{docs_rs_item_path, is_rust_path, normalize_label, Document, Kind};

const CRATE: &str = "kadenz";
/// The files rustdoc reads before the README, in the order `src/lib.rs` includes them.
const PRELUDES: [&str; 2] = ["docs/timelines.md", "docs/rustdoc-links.md"];
/// How `docs/rustdoc-links.md` names a label that stays a docs.rs link in rustdoc too.
const ABSOLUTE: &str = "[//]: # \"a docs.rs link in rustdoc too: ";
/// Where docs.rs shows a file of the package.
const SOURCE: &str = "https://docs.rs/crate/kadenz/latest/source/";
/// Ids that rustdoc gives its own sections of the crate page: a README heading of that
/// name gets another anchor there (`modules-1`).
const RUSTDOC_IDS: [&str; 9] = [
    "modules",
    "structs",
    "enums",
    "traits",
    "functions",
    "macros",
    "constants",
    "types",
    "reexports",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The patterns of `include` in Cargo.toml (`/docs/**`, `/README.md`).
fn package_patterns() -> Vec<String> {
    let manifest = read("Cargo.toml");
    let start = manifest
        .find("\ninclude = [")
        .expect("Cargo.toml has an include list");
    let list = &manifest[start..];
    let list = &list[..list.find(']').expect("the list ends")];
    list.lines()
        .filter_map(|line| line.trim().strip_prefix('"'))
        .filter_map(|line| line.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// Whether `path` (relative to the repository root) is a file that the package has.
fn packaged(path: &str, patterns: &[String]) -> bool {
    let path = path.trim_start_matches("./");
    let in_include = patterns.iter().any(|pattern| {
        let pattern = pattern.trim_start_matches('/');
        match pattern.strip_suffix("/**") {
            Some(dir) => path.starts_with(&format!("{dir}/")),
            None => {
                assert!(
                    !pattern.contains('*'),
                    "a pattern this test does not read: {pattern}"
                );
                path == pattern
            }
        }
    });
    in_include && !path.contains("..") && root().join(path).is_file()
}

/// What is wrong with one destination of the README, if anything. `prelude` is whether
/// rustdoc takes the label from a prelude instead (for a definition).
fn check_destination(
    destination: &str,
    readme: &Document,
    patterns: &[String],
    prelude: Option<&str>,
) -> Option<String> {
    if let Some(anchor) = destination.strip_prefix('#') {
        let headings = readme
            .anchors
            .iter()
            .filter(|a| a.as_str() == anchor)
            .count();
        return match headings {
            1 if RUSTDOC_IDS.contains(&anchor) => Some(format!(
                "#{anchor}: rustdoc gives this id to its own section of the crate page"
            )),
            1 => None,
            0 => Some(format!("#{anchor}: no heading has this anchor")),
            _ => Some(format!("#{anchor}: several headings have this anchor")),
        };
    }
    if let Some(file) = destination.strip_prefix(SOURCE) {
        return (!packaged(file, patterns)).then(|| {
            format!("{destination}: {file} is not a file of the package (Cargo.toml, include)")
        });
    }
    if destination.starts_with("https://docs.rs/") && destination.contains(".html") {
        return docs_rs_item_path(destination, CRATE)
            .is_none()
            .then(|| format!("{destination}: not the form of a docs.rs item page"));
    }
    if destination.starts_with("https://") || destination.starts_with("http://") {
        return None;
    }
    if is_rust_path(destination) {
        return Some(format!(
            "{destination}: a rustdoc link, raw brackets on the repository page and the registry \
             (run `cargo run -p kadenz-tools --bin readme-links`)"
        ));
    }
    match prelude {
        _ if destination.contains(':') => {
            Some(format!("{destination}: not a link that works everywhere"))
        }
        None => Some(format!(
            "{destination}: a relative link is broken on docs.rs (link to {SOURCE}..., or define \
             the label for rustdoc in a prelude as docs/timelines.md does for the pictures)"
        )),
        Some(_) if !packaged(destination, patterns) => Some(format!(
            "{destination}: not a file of the package (Cargo.toml, include)"
        )),
        Some(rustdoc) if !rustdoc.starts_with("data:") && !rustdoc.starts_with("https://") => Some(
            format!("{destination}: rustdoc's definition of it, {rustdoc}, is relative too"),
        ),
        Some(_) => None,
    }
}

#[test]
fn every_link_of_the_readme_works_everywhere() {
    let text = read("README.md");
    let readme = markdown::scan(&text);
    let patterns = package_patterns();
    let preludes: Vec<Document> = PRELUDES.iter().map(|p| markdown::scan(&read(p))).collect();
    let rustdoc_definition = |label: &str| {
        preludes
            .iter()
            .find_map(|prelude| prelude.definition(label))
            .map(|definition| definition.destination.as_str())
    };
    let mut problems = Vec::new();

    for link in &readme.links {
        let at = format!("README.md:{}: [{}]", link.line, link.text);
        match &link.kind {
            Kind::Inline { destination, .. } => {
                if let Some(problem) = check_destination(destination, &readme, &patterns, None) {
                    problems.push(format!("{at}: {problem}"));
                }
            }
            Kind::Shortcut => {
                let label = &link.text;
                let undefined = readme.definition(label).is_none();
                let looks_like_a_link = label.contains('`') || is_rust_path(label);
                if undefined && looks_like_a_link {
                    problems.push(format!(
                        "{at}: not defined in the README, so shown as raw brackets on the \
                         repository page and the registry (run `cargo run -p kadenz-tools --bin \
                         readme-links`)"
                    ));
                }
            }
            Kind::Full { .. } | Kind::Collapsed => {
                let label = link.label().expect("a reference");
                if readme.definition(label).is_none() {
                    problems.push(format!(
                        "{at}[{label}]: the label is not defined in the README"
                    ));
                }
            }
        }
    }

    let mut seen = BTreeSet::new();
    for definition in &readme.definitions {
        let at = format!("README.md:{}: [{}]", definition.line, definition.label);
        if !definition.starts_a_block {
            problems.push(format!(
                "{at}: continues a paragraph, so it is text, not a definition (leave a blank line \
                 before it)"
            ));
        }
        let label = normalize_label(&definition.label);
        if label == "//" {
            continue; // a comment
        }
        if !seen.insert(label.clone()) {
            problems.push(format!("{at}: defined twice (the first one wins)"));
        }
        let used = readme
            .links
            .iter()
            .any(|l| l.label().map(normalize_label).as_deref() == Some(label.as_str()));
        if !used {
            problems.push(format!("{at}: defined but not used"));
        }
        let rustdoc = rustdoc_definition(&definition.label);
        if let Some(problem) =
            check_destination(&definition.destination, &readme, &patterns, rustdoc)
        {
            problems.push(format!("{at}: {problem}"));
        }
    }

    // Both renderings have every label; rustdoc's intra-doc links are the README's pages.
    for (path, prelude) in PRELUDES.iter().zip(&preludes) {
        for definition in &prelude.definitions {
            if definition.label == "//" {
                continue;
            }
            let at = format!("{path}:{}: [{}]", definition.line, definition.label);
            let used = readme.links.iter().any(|l| {
                l.label().map(normalize_label) == Some(normalize_label(&definition.label))
            });
            if *path == "docs/timelines.md" && !used {
                // A picture that only the API documentation shows (a policy's own page).
                continue;
            }
            let Some(ours) = readme.definition(&definition.label) else {
                problems.push(format!("{at}: README.md does not define this label"));
                continue;
            };
            if *path == "docs/rustdoc-links.md" {
                let page = docs_rs_item_path(&ours.destination, CRATE);
                if page.as_deref() != Some(definition.destination.as_str()) {
                    problems.push(format!(
                        "{at}: README.md links it to {}, which is not {} (run the readme-links tool)",
                        ours.destination, definition.destination
                    ));
                }
            }
        }
    }
    // ... and every docs.rs page of an item is either in the prelude or named there as one
    // that stays a docs.rs link (an item that the default documentation build does not have).
    let prelude = read("docs/rustdoc-links.md");
    for definition in &readme.definitions {
        if docs_rs_item_path(&definition.destination, CRATE).is_none() {
            continue;
        }
        let absolute = format!("{ABSOLUTE}{}\"", definition.label);
        let in_prelude = preludes[1].definition(&definition.label).is_some();
        if !in_prelude && !prelude.lines().any(|line| line == absolute) {
            problems.push(format!(
                "README.md:{}: [{}] is a docs.rs page that docs/rustdoc-links.md does not know \
                 (run `cargo run -p kadenz-tools --bin readme-links`)",
                definition.line, definition.label
            ));
        }
    }

    assert!(
        problems.is_empty(),
        "links that do not work everywhere:\n{}",
        problems.join("\n")
    );
}

/// The preludes only work if rustdoc reads them before the README.
#[test]
fn the_crate_documentation_reads_the_preludes_first() {
    let lib = read("src/lib.rs");
    let position = |file: &str| {
        lib.find(&format!("#![doc = include_str!(\"../{file}\")]"))
            .unwrap_or_else(|| panic!("src/lib.rs does not include {file}"))
    };
    let readme = position("README.md");
    for prelude in PRELUDES {
        assert!(
            position(prelude) < readme,
            "{prelude} must come before README.md"
        );
    }
}

/// The checks catch what they are for.
#[test]
fn the_checks_catch_broken_links() {
    let patterns = package_patterns();
    let readme = markdown::scan("# Precision\n\n## Modules\n");
    let check = |destination: &str, prelude: Option<&str>| {
        check_destination(destination, &readme, &patterns, prelude)
    };
    assert_eq!(check("#precision", None), None);
    assert!(check("#accuracy", None).is_some());
    assert!(check("#modules", None).is_some());
    assert!(check("Timer::tick", None).is_some());
    assert!(
        check("LICENSE-MIT", None).is_some(),
        "relative, and no rustdoc definition"
    );
    assert!(check("docs/timeline-trigger-all-missed.svg", Some("docs/x.svg")).is_some());
    assert_eq!(
        check(
            "docs/timeline-trigger-all-missed.svg",
            Some("data:image/svg+xml;base64,")
        ),
        None
    );
    assert!(check("docs/missing.svg", Some("data:image/svg+xml;base64,")).is_some());
    assert!(
        check("fuzz/Cargo.toml", Some("data:")).is_some(),
        "not in the package"
    );
    assert_eq!(check(&format!("{SOURCE}BENCHMARKS.md"), None), None);
    assert!(check(&format!("{SOURCE}tools/Cargo.toml"), None).is_some());
    assert!(check(
        "https://docs.rs/kadenz/latest/kadenz/struct.Timer.html#tick",
        None
    )
    .is_some());
    assert_eq!(
        check(
            "https://docs.rs/kadenz/latest/kadenz/struct.Timer.html#method.tick",
            None
        ),
        None
    );

    let text = "See [`Tick`] and [x][y].\nText\n[y]: https://example.com\n";
    let document = markdown::scan(text);
    assert!(document.definition("`Tick`").is_none());
    assert!(!document.definitions[0].starts_a_block);
}
